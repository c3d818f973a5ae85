"""This machine's verified copies of registry packages: CatBoost loads a model from a local file only.

The registry lives in the artefact store (``file://`` or ``s3://``), which a Celery worker
may share with no other worker's disk. A worker that scores copies the package into its own
cache folder (``<data folder>/cache/packages``), verifies every file against the package's
``checksums.json`` and loads from there: what is verified is exactly what is loaded, even when
the store changes meanwhile.

A copy is named ``<version>-<digest of checksums.json>``, the digest of the checksums it was
verified against (the same version name in another registry, tests, a restored backup, never
meets a copy of a different package), and is used only while its ``checksums.json`` is the
store's, byte for byte: a package replaced in the store during a fetch never lands under the
other package's name. A copy is
fetched into a hidden temporary folder beside its place and renamed into place only once
verified, so a killed fetch never leaves a copy that looks complete; a copy is verified again
every time it is used and fetched anew when it no longer matches its checksums.

Each use also lists the package in the store (one request: names and sizes) and fetches it
again when the listing differs from the copy: a file of the package removed, added,
truncated or rewritten with another length in the store is a PackageError, as without the
cache. A rewrite of a file in the store with the same length is not seen while a good copy
is cached: that worker keeps scoring with the verified original bytes; the next worker
without a copy (or this one after ``rm -r <data folder>/cache``) refuses the package.

Copies are never removed automatically: one small folder per version a machine has loaded.
The cache folder can be removed at any time between runs.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
from pathlib import Path

from rko_model.errors import PackageError
from rko_model.model.checksums import CHECKSUM_FILE, verify_checksums
from rko_model.storage import artifacts

log = logging.getLogger(__name__)


def _sizes(folder: Path) -> dict[str, int]:
    return {p.relative_to(folder).as_posix(): p.stat().st_size for p in folder.rglob("*") if p.is_file()}


def _key(version: str, listing: bytes) -> str:
    """A copy's folder name: the version and a digest of the package's ``checksums.json``."""
    return f"{version}-{hashlib.sha256(listing).hexdigest()[:16]}"


def _good_copy(copy: Path, sizes: dict[str, int], listing: bytes, package_url: str) -> bool:
    """Whether ``copy`` is a whole, verified copy of the package whose ``checksums.json`` is ``listing``.

    Comparing the copy's ``checksums.json`` with the store's (not only its folder name) means
    a copy is always verified against the store's checksums. A damaged copy is removed.
    """
    if not copy.is_dir() or _sizes(copy) != sizes:
        return False
    try:
        if (copy / CHECKSUM_FILE).read_bytes() != listing:
            raise PackageError(f"its {CHECKSUM_FILE} is not the store's")
        verify_checksums(copy, package_url)
    except (OSError, PackageError) as exc:  # this machine's copy was damaged, not the package: fetch it again
        log.warning("cached copy %s of model package %s is damaged (%s): fetching it again", copy, package_url, exc)
        shutil.rmtree(copy, ignore_errors=True)
        return False
    return True


def local_copy(package_url: str, version: str, cache_dir: Path) -> Path:
    """A verified local folder holding the package at ``package_url``; a PackageError when the package is damaged."""
    stored = artifacts.files(package_url)
    if not stored:
        raise PackageError(f"model package {package_url} is empty or gone; restore it, or retrain and promote another")
    if CHECKSUM_FILE in stored:
        listing = artifacts.read_bytes(artifacts.join(package_url, CHECKSUM_FILE))
        cached = cache_dir / _key(version, listing)
        if _good_copy(cached, stored, listing, package_url):
            return cached
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=cache_dir))
    try:
        artifacts.download(package_url, sorted(stored), staging)
        verify_checksums(staging, package_url)  # the package in the store is damaged: nothing is cached
        # Keyed by the checksums just verified, not those listed before the fetch: a package
        # replaced in the store meanwhile never lands under the other package's key.
        fetched = (staging / CHECKSUM_FILE).read_bytes()
        cached = cache_dir / _key(version, fetched)
        try:
            staging.rename(cached)
        except OSError:  # another process of this machine placed its copy first (or a damaged one is in the way)
            if _good_copy(cached, _sizes(staging), fetched, package_url):
                shutil.rmtree(staging, ignore_errors=True)
                return cached
            shutil.rmtree(cached, ignore_errors=True)
            staging.rename(cached)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log.info("model package %s copied from %s into %s", version, package_url, cached)
    return cached
