"""The configured OKVED exclusion list: codes and whole classes left out of training and scoring."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from rko_model.errors import ConfigError

_CLASS = re.compile(r"^\d{2}$")
_CODE = re.compile(r"^\d{2}(\.\d{1,2}){1,2}$")


@dataclass(frozen=True)
class OkvedExclusions:
    """Two-digit classes (``64``) exclude every code in them; full codes (``47.79``) only themselves."""

    classes: tuple[str, ...]
    codes: tuple[str, ...]

    def excludes(self, okved_code: str | None) -> bool:
        if not okved_code:
            return False
        return okved_code in self.codes or okved_code[:2] in self.classes


def load_exclusions(path: Path) -> OkvedExclusions:
    """Parse the exclusion file; a malformed line fails with its number and text."""
    classes: list[str] = []
    codes: list[str] = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        entry = raw.split("#", 1)[0].strip()
        if not entry:
            continue
        if _CLASS.match(entry):
            classes.append(entry)
        elif _CODE.match(entry):
            codes.append(entry)
        else:
            raise ConfigError(f"{path}:{number}: {raw.strip()!r} is neither an OKVED class (64) nor a code (47.79)")
    return OkvedExclusions(classes=tuple(sorted(set(classes))), codes=tuple(sorted(set(codes))))
