"""Files (and folders) written whole or not at all: through a ``.partial`` file (a hidden staging
folder) renamed into place, removed on any failure.

A full disk, a read-only folder or a killed task never leaves half a file behind, nor a
``.partial`` file that keeps the disk full.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def partial_path(path: Path, *, unique: bool = False) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; renamed to ``path`` on success, removed on failure.

    ``unique``: a name of its own (``<name>.<random>.partial``) for a file that several processes
    may write at once (the champion pointer): with one shared name, two writers would write into
    the same partial file and could rename a mix of both into place.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{uuid.uuid4().hex[:12]}.partial" if unique else f"{path.name}.partial")
    try:
        yield partial
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically and durably (flushed to disk before the rename); the last writer wins."""
    with partial_path(path, unique=True) as partial, partial.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


@contextmanager
def staged_folder(folder: Path) -> Iterator[Path]:
    """A hidden folder beside ``folder`` to fill; renamed to ``folder`` on success, removed on failure.

    A reader sees the whole folder or none (a model package). The rename fails when ``folder``
    exists and is not empty: nothing is overwritten.
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        yield staging
        staging.rename(folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
