"""The artefact store: files that one task writes and another reads, named by URIs under one root.

The tasks of a run may run on different machines (Celery workers that share no disk), so a
snapshot, a partition's scores or a validation result is written to the store named by
``RKO_ARTIFACT_URL`` and handed on as a URI, never as a local path. The store is reached
through fsspec: ``file://`` (the default, a folder; shared storage mounted on every worker)
or ``s3://`` (MinIO or any S3-compatible bucket, through s3fs; credentials and endpoint come
from the usual AWS variables or fsspec's configuration). Nothing here imports Airflow.

Writes are atomic: a file is written under a temporary name beside its target and moved
into place, so a reader (or a retried task) sees the whole file or none. A rerun writes the
same names again, so a month's artefacts are replaced, never duplicated.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import fsspec
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from fsspec.core import url_to_fs
from fsspec.implementations.local import LocalFileSystem

from rko_model.errors import ConfigError
from rko_model.storage import atomic

log = logging.getLogger(__name__)


def default_root(data_dir: Path) -> str:
    """The default store: the local data folder itself, as a ``file://`` URL."""
    return data_dir.expanduser().resolve().as_uri()


def to_url(location: str | Path) -> str:
    """A store location as a URL: a URL stays as it is, a plain path becomes the ``file://`` URL of that folder."""
    text = str(location)
    if "://" in text:
        return text
    return Path(text).expanduser().resolve().as_uri()


def check_root(url: str, setting: str = "RKO_ARTIFACT_URL") -> None:
    """Fail early, naming the setting, for a root fsspec cannot reach (unknown scheme, missing driver)."""
    if "://" not in url:
        raise ConfigError(f"{setting}: {url!r} is not a URL (e.g. file:///srv/rko or s3://rko-artifacts/prod)")
    protocol = url.split("://", 1)[0]
    try:
        fsspec.get_filesystem_class(protocol)
    except (ValueError, ImportError) as exc:
        raise ConfigError(f"{setting}: no fsspec filesystem for {protocol!r}: {exc}") from exc


def join(root: str, *parts: str) -> str:
    """``root/part/part``: URIs are joined with slashes on every store."""
    return "/".join([root.rstrip("/"), *(p.strip("/") for p in parts)])


def local_path(uri: str) -> Path | None:
    """The local file behind a ``file://`` URI (or a plain path); None for a remote store."""
    fs, path = url_to_fs(uri)
    return Path(path) if isinstance(fs, LocalFileSystem) else None


def _write(uri: str, write: Callable[[IO[bytes]], None], *, unique: bool = False) -> str:
    """Write through ``write`` to a temporary name beside ``uri``, then move it into place.

    One writer per file, as a rule: a run holds its month, and its run id names the folder.
    ``unique`` gives the temporary file a name of its own, for a file several processes may
    write at once (see :func:`write_text`).
    """
    fs, path = url_to_fs(uri)
    parent = path.rsplit("/", 1)[0]
    if parent:
        fs.makedirs(parent, exist_ok=True)
    partial = f"{path}.{uuid.uuid4().hex[:12]}.partial" if unique else f"{path}.partial"
    try:
        with fs.open(partial, "wb") as handle:
            write(handle)
        fs.mv(partial, path)
    except BaseException:
        if fs.exists(partial):
            fs.rm(partial)
        raise
    return uri


def write_parquet(frame: pd.DataFrame, uri: str, row_group_size: int | None = None) -> str:
    """``frame`` as a Parquet file at ``uri``, atomically; returns ``uri``.

    Only text columns are dictionary-encoded: Arrow tries a dictionary for every column by
    default and gives it up on distinct numbers, which cost a third of writing a snapshot.
    """
    dictionary = [str(name) for name, dtype in frame.dtypes.items() if not _is_plain(dtype)]
    return _write(
        uri,
        lambda handle: frame.to_parquet(
            handle, index=False, row_group_size=row_group_size, use_dictionary=dictionary or False
        ),
    )


def _is_plain(dtype: object) -> bool:
    """Numbers, booleans and times: values that a dictionary rarely shortens."""
    types = pd.api.types
    return bool(types.is_numeric_dtype(dtype) or types.is_bool_dtype(dtype) or types.is_datetime64_any_dtype(dtype))


def write_csv(frame: pd.DataFrame, uri: str) -> str:
    """``frame`` as UTF-8 CSV with a header at ``uri``, atomically; returns ``uri``."""
    return _write(uri, lambda handle: frame.to_csv(handle, index=False, encoding="utf-8"))


def write_bytes(data: bytes, uri: str) -> str:
    return _write(uri, lambda handle: handle.write(data))


def write_text(text: str, uri: str) -> str:
    """UTF-8 ``text`` at ``uri``, atomically; on a local store also flushed to disk before the rename.

    For small files that say what is current (the champion pointer, a promotion decision):
    a crash right after the write must not leave the old state or an empty file. Several
    processes may write the same file at once (two promotions): each writes a temporary file
    of its own, and the last one moved into place wins, whole.
    """
    target = local_path(uri)
    if target is not None:
        atomic.write_text(target, text)
        return uri
    data = text.encode("utf-8")
    return _write(uri, lambda handle: handle.write(data), unique=True)


def read_bytes(uri: str) -> bytes:
    fs, path = url_to_fs(uri)
    return fs.cat_file(path)


def files(uri: str) -> dict[str, int]:
    """Every file under ``uri``, at any depth: its name relative to ``uri`` (with slashes) and its size in bytes.

    Empty when nothing is there. One listing request on an object store, so a reader can
    compare a folder's contents without downloading them.
    """
    fs, path = _fresh(uri)
    prefix = path.rstrip("/") + "/"
    if not fs.exists(path):
        return {}
    found = fs.find(path, detail=True)
    return {
        name[len(prefix) :]: int(info.get("size") or 0)
        for name, info in found.items()
        if name.startswith(prefix) and info.get("type", "file") == "file"
    }


def folders(uri: str) -> list[str]:
    """The names of the folders (prefixes, on an object store) directly under ``uri``; empty when it does not exist."""
    fs, path = _fresh(uri)
    if not fs.exists(path):
        return []
    entries = fs.ls(path, detail=True)
    return sorted(e["name"].rstrip("/").rsplit("/", 1)[-1] for e in entries if e.get("type") == "directory")


def download(uri: str, names: list[str], folder: Path) -> None:
    """Copy the files ``names`` (relative to ``uri``) into the local ``folder``, keeping their relative paths."""
    fs, path = url_to_fs(uri)
    for name in names:
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        fs.get_file(f"{path.rstrip('/')}/{name}", str(target))


def upload(folder: Path, uri: str, last: tuple[str, ...] = ()) -> None:
    """Copy every file of the local ``folder`` under ``uri``, each atomically; the names in ``last`` go last.

    An object store has no folder to rename into place: a reader that finds the ``last``
    file knows every other file is there.
    """
    names = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    for name in sorted(names, key=lambda n: n in last):
        write_bytes((folder / name).read_bytes(), join(uri, name))


def read_parquet(uri: str, columns: list[str] | None = None) -> pd.DataFrame:
    fs, path = url_to_fs(uri)
    with fs.open(path, "rb") as handle:
        return pd.read_parquet(handle, columns=columns)


def read_arrow(uri: str, columns: list[str] | None = None) -> pa.Table:
    fs, path = url_to_fs(uri)
    with fs.open(path, "rb") as handle:
        return pq.read_table(handle, columns=columns)


def iter_parquet(uri: str, batch_size: int, only: tuple[str, np.ndarray] | None = None) -> Iterator[pd.DataFrame]:
    """The Parquet file at ``uri`` in chunks of ``batch_size`` rows: memory does not grow with the file.

    ``only`` = (column, values): just the rows whose column holds one of the values, filtered
    in Arrow before the chunk becomes a DataFrame (cheaper when few rows are wanted).
    """
    fs, path = url_to_fs(uri)
    wanted = pa.array(only[1]) if only is not None else None
    with fs.open(path, "rb") as handle:
        for batch in pq.ParquetFile(handle).iter_batches(batch_size=batch_size):
            if only is not None:
                batch = batch.filter(pc.is_in(batch.column(only[0]), value_set=wanted))
            yield batch.to_pandas()


def parquet_rows(uri: str) -> int:
    """The row count of the Parquet file at ``uri``, from its footer (no data read)."""
    fs, path = url_to_fs(uri)
    with fs.open(path, "rb") as handle:
        return int(pq.ParquetFile(handle).metadata.num_rows)


def _fresh(uri: str) -> tuple[fsspec.AbstractFileSystem, str]:
    """The filesystem and path of ``uri``, with fsspec's cached listings of it dropped.

    s3fs keeps the listings it made for the life of the (shared) filesystem object: a
    long-running process would not see a package or a file another worker added since.
    """
    fs, path = url_to_fs(uri)
    fs.invalidate_cache(path)
    return fs, path


def exists(uri: str) -> bool:
    fs, path = _fresh(uri)
    return bool(fs.exists(path))


def listing(uri: str) -> list[str]:
    """The names (not URIs) of the files directly under ``uri``; empty when it does not exist."""
    fs, path = _fresh(uri)
    if not fs.exists(path):
        return []
    return sorted(p.rstrip("/").rsplit("/", 1)[-1] for p in fs.ls(path, detail=False))


@contextmanager
def local_folder(uri: str) -> Iterator[Path]:
    """A local folder for a writer that only knows paths, whose files end up under ``uri``.

    On a ``file://`` store it is the target folder itself; elsewhere a temporary folder whose
    files are uploaded (each atomically) when the block ends without an error.
    """
    target = local_path(uri)
    if target is not None:
        target.mkdir(parents=True, exist_ok=True)
        yield target
        return
    folder = Path(tempfile.mkdtemp(prefix="rko-artifacts-"))
    try:
        yield folder
        upload(folder, uri)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def remove(uri: str) -> None:
    fs, path = url_to_fs(uri)
    fs.rm(path)
