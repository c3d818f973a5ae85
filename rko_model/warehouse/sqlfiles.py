"""SQL lives in files under ``sql/``; this module finds the right one for a warehouse.

``sql/<name>.sql`` runs on every engine. Where the warehouses truly differ, a file
``sql/<name>.<variant>.sql`` sits beside it (or instead of it) and wins; a backend names its
variants in order (:attr:`rko_model.warehouse.backends.base.WarehouseBackend.sql_variants`).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from rko_model.errors import ConfigError


def load_sql(sql_dir: Path, name: str, variants: str | Sequence[str]) -> str:
    """Text of ``name``, preferring the first of ``variants`` that has a file of its own."""
    return _read(sql_dir.resolve(), name, (variants,) if isinstance(variants, str) else tuple(variants))


@lru_cache(maxsize=128)
def _read(sql_dir: Path, name: str, variants: tuple[str, ...]) -> str:
    candidates = [sql_dir / f"{name}.{variant}.sql" for variant in variants] + [sql_dir / f"{name}.sql"]
    for candidate in candidates:
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8")
    tried = " or ".join([f"{name}.sql", *(f"{name}.{variant}.sql" for variant in variants)])
    raise ConfigError(f"no SQL file {tried} under {sql_dir}")
