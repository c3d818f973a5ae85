"""Reading requirements.in (the direct pins) and requirements.txt (the hashed lock), for the install's tests."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from rko_model.settings import PROJECT_ROOT

DIRECT = PROJECT_ROOT / "requirements.in"
LOCK = PROJECT_ROOT / "requirements.txt"


def canonical(name: str) -> str:
    """A distribution's name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Locked:
    version: str
    hashes: tuple[str, ...]


def direct_pins(path: Path = DIRECT) -> dict[str, str]:
    """``name -> version`` of requirements.in; a line that is not an exact pin fails."""
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep and version.strip(), f"{path.name}: {line!r} is not an exact pin"
            pins[canonical(name.strip())] = version.strip()
    return pins


def locked(path: Path = LOCK) -> dict[str, Locked]:
    """``name -> (version, hashes)`` of the lock, its continuation lines joined."""
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    entries = {}
    for line in text.splitlines():
        line = line.split("#")[0].strip()
        if not line:
            continue
        spec, *options = line.split()
        name, sep, version = spec.partition("==")
        assert sep, f"{path.name}: {spec!r} is not an exact pin"
        hashes = tuple(o.removeprefix("--hash=") for o in options if o.startswith("--hash="))
        entries[canonical(name.split("[")[0])] = Locked(version, hashes)
    return entries
