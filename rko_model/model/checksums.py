"""Checksums of every file of a model package, so that no file can be altered unnoticed.

``checksums.json`` lists the sha256 of every other file in the package folder, whatever the
package holds (the model, the manifest, the reference distributions, and whatever a later
version adds). Verifying refuses a changed, missing or unlisted file, naming it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from rko_model.errors import PackageError

CHECKSUM_FILE = "checksums.json"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files(folder: Path) -> list[str]:
    return sorted(
        p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and p.name != CHECKSUM_FILE
    )


def write_checksums(folder: Path) -> dict[str, str]:
    """Write ``checksums.json`` over every file of ``folder``; returns what it holds."""
    sums = {name: sha256_of(folder / name) for name in _files(folder)}
    (folder / CHECKSUM_FILE).write_text(json.dumps({"sha256": sums}, indent=1, sort_keys=True), encoding="utf-8")
    return sums


def verify_checksums(folder: Path, label: str | None = None) -> None:
    """Refuse a package whose files differ from its checksums, naming the first file that does.

    ``label`` names the package in the errors (its URL in the registry, when ``folder`` is a
    local copy): the operator restores the package there, not in a cache.
    """
    listing = folder / CHECKSUM_FILE
    name_of = label or str(folder)
    if not listing.is_file():
        raise PackageError(
            f"model package {name_of} has no {CHECKSUM_FILE}: it was made before every file was checksummed or "
            "the file was removed; retrain and promote a new package"
        )
    try:
        sums = json.loads(listing.read_text(encoding="utf-8"))["sha256"]
        if not isinstance(sums, dict):
            raise TypeError("sha256 is not a mapping")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise PackageError(
            f"model package {name_of}: {CHECKSUM_FILE} is damaged ({exc}); restore the package from its source"
        ) from exc
    present = set(_files(folder))
    for name, expected in sorted(sums.items()):
        if name not in present:
            raise PackageError(f"model package {name_of} lacks {name}; restore the package from its source")
        actual = sha256_of(folder / name)
        if actual != expected:
            raise PackageError(
                f"model package {name_of}: {name} checksum {actual[:12]}… does not match the recorded "
                f"{str(expected)[:12]}…; the file was altered or replaced: restore the package from its source, "
                "or retrain and promote another"
            )
    extra = sorted(present - set(sums))
    if extra:
        raise PackageError(
            f"model package {name_of} holds files its checksums do not list: {extra}; a package is never changed "
            "after it is written: remove them or restore the package"
        )
