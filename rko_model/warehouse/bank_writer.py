"""Writes a generated synthetic bank into the warehouse, all or nothing."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable

import pandas as pd
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from rko_model.errors import WarehouseError
from rko_model.warehouse import schema
from rko_model.warehouse.bulk import bulk_insert, refresh_after_load
from rko_model.warehouse.query import dbapi_errors

log = logging.getLogger(__name__)

_TABLES = {t.name: t for t in schema.SYNTHETIC_TABLES}


def write_bank(engine: Engine, chunks: Iterable[tuple[str, pd.DataFrame]]) -> dict[str, int]:
    """Replace the synthetic bank's tables with ``chunks`` in one transaction; returns rows per table.

    The tables are dropped and recreated inside the same transaction, so a failure halfway
    leaves the previous bank in place (both engines have transactional DDL).
    """
    rows: Counter[str] = Counter()
    started = time.perf_counter()
    try:
        with engine.begin() as conn:
            # The marts of the old bank would be stale: dropped, so snapshots read the new raw tables.
            schema.metadata.drop_all(conn, tables=list(schema.MART_TABLES))
            schema.metadata.drop_all(conn, tables=list(schema.SYNTHETIC_TABLES))
            schema.metadata.create_all(conn, tables=list(schema.SYNTHETIC_TABLES))
            for name, frame in chunks:
                rows[name] += bulk_insert(conn, _TABLES[name], frame)
            log.info("synthetic bank: %d rows loaded, building indexes", sum(rows.values()))
            schema.create_indexes(conn)
    except (SQLAlchemyError, *dbapi_errors(engine)) as exc:
        raise WarehouseError(f"writing the synthetic bank failed and was rolled back: {exc}") from exc
    refresh_after_load(
        engine, schema.SYNTHETIC_TABLES, "synthetic bank", "the synthetic bank is written", "the bank's tables"
    )
    log.info(
        "synthetic bank written in %.1f s: %s",
        time.perf_counter() - started,
        ", ".join(f"{k}={v}" for k, v in rows.items()),
    )
    return dict(rows)
