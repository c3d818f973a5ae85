"""A file registry of model packages with one champion and any number of challengers.

Layout under the registry folder::

    packages/<version>/     model packages (never overwritten)
    champion.json           which version scores the monthly list
    decisions.jsonl         every promotion decision with its figures, appended

A challenger is promoted only when its mean retro Gini is higher than the champion's and
the standard deviation of its monthly Gini is not worse beyond a set tolerance.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rko_model.errors import PackageError
from rko_model.model.package import ModelPackage, load_package, read_reference

log = logging.getLogger(__name__)

DEFAULT_STD_TOLERANCE = 0.01


@dataclass(frozen=True)
class PromotionDecision:
    """One decision of :meth:`Registry.promote`, as recorded in ``decisions.jsonl``."""

    decided_at: str
    challenger: str
    champion_before: str | None
    promoted: bool
    reason: str
    challenger_gini_mean: float
    challenger_gini_std: float
    champion_gini_mean: float | None
    champion_gini_std: float | None
    std_tolerance: float


def decide(challenger: dict[str, float], champion: dict[str, float] | None, tolerance: float) -> tuple[bool, str]:
    """The promotion rule on retro figures (``gini_mean``, ``gini_std``)."""
    if champion is None:
        return True, "no champion yet"
    if challenger["gini_mean"] <= champion["gini_mean"]:
        return False, (
            f"mean retro Gini {challenger['gini_mean']:.4f} is not above the champion's {champion['gini_mean']:.4f}"
        )
    if challenger["gini_std"] > champion["gini_std"] + tolerance:
        return False, (
            f"monthly Gini std {challenger['gini_std']:.4f} is worse than the champion's "
            f"{champion['gini_std']:.4f} beyond the tolerance {tolerance}"
        )
    return True, (
        f"mean retro Gini {challenger['gini_mean']:.4f} > {champion['gini_mean']:.4f} and std "
        f"{challenger['gini_std']:.4f} within {tolerance} of {champion['gini_std']:.4f}"
    )


class Registry:
    """Packages, the champion pointer and the decision log in one folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.packages = root / "packages"

    def path_for(self, version: str) -> Path:
        return self.packages / version

    def versions(self) -> list[str]:
        """Package versions, oldest first (versions sort by creation time)."""
        if not self.packages.is_dir():
            return []
        return sorted(p.name for p in self.packages.iterdir() if p.is_dir() and not p.name.startswith("."))

    def load(self, version: str) -> ModelPackage:
        return load_package(self._existing(version))

    def reference(self, version: str) -> dict[str, Any]:
        """A package's reference distributions, without loading its model (scoring verified it already)."""
        return read_reference(self._existing(version))

    def _existing(self, version: str) -> Path:
        if version not in self.versions():
            raise PackageError(f"no model package {version!r} in {self.packages}; known: {self.versions()}")
        return self.path_for(version)

    def champion_version(self) -> str | None:
        pointer = self.root / "champion.json"
        if not pointer.is_file():
            return None
        return str(json.loads(pointer.read_text(encoding="utf-8"))["version"])

    def required_champion_version(self) -> str:
        """The champion's version; a clear error when there is none yet."""
        version = self.champion_version()
        if version is None:
            raise PackageError(f"the registry {self.root} has no champion yet: run `rko train` and `rko promote`")
        return version

    def champion(self) -> ModelPackage:
        """The champion package, verified; a clear error when there is none yet."""
        return self.load(self.required_champion_version())

    def decisions(self) -> list[dict]:
        log_file = self.root / "decisions.jsonl"
        if not log_file.is_file():
            return []
        return [json.loads(line) for line in log_file.read_text(encoding="utf-8").splitlines() if line.strip()]

    def promote(self, version: str, tolerance: float = DEFAULT_STD_TOLERANCE) -> PromotionDecision:
        """Apply the promotion rule to ``version`` against the current champion; record the decision."""
        challenger = self.load(version)
        current = self.champion_version()
        champion_retro = self.load(current).manifest["retro"] if current and current != version else None
        if current == version:
            promoted, reason = False, "already the champion"
        else:
            promoted, reason = decide(challenger.manifest["retro"], champion_retro, tolerance)
        decision = PromotionDecision(
            decided_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            challenger=version,
            champion_before=current,
            promoted=promoted,
            reason=reason,
            challenger_gini_mean=float(challenger.manifest["retro"]["gini_mean"]),
            challenger_gini_std=float(challenger.manifest["retro"]["gini_std"]),
            champion_gini_mean=None if champion_retro is None else float(champion_retro["gini_mean"]),
            champion_gini_std=None if champion_retro is None else float(champion_retro["gini_std"]),
            std_tolerance=tolerance,
        )
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / "decisions.jsonl").open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(asdict(decision)) + "\n")
        if promoted:
            _write_atomically(self.root / "champion.json", {"version": version, "promoted_at": decision.decided_at})
        log.info("promotion of %s: %s (%s)", version, "promoted" if promoted else "refused", reason)
        return decision


def _write_atomically(path: Path, payload: dict) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    os.replace(partial, path)
