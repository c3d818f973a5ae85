"""SQL lives in files under ``sql/``; this module finds the right one for a dialect.

``sql/<name>.sql`` runs on every engine. Where the dialects truly differ, a file
``sql/<name>.<dialect>.sql`` sits beside it (or instead of it) and wins.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from rko_model.errors import ConfigError


def load_sql(sql_dir: Path, name: str, dialect: str) -> str:
    """Text of ``name`` for ``dialect``, preferring the per-dialect file."""
    return _read(sql_dir.resolve(), name, dialect)


@lru_cache(maxsize=128)
def _read(sql_dir: Path, name: str, dialect: str) -> str:
    for candidate in (sql_dir / f"{name}.{dialect}.sql", sql_dir / f"{name}.sql"):
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8")
    raise ConfigError(f"no SQL file {name}.sql or {name}.{dialect}.sql under {sql_dir}")
