"""Bulk loads through the warehouse's backend (COPY on PostgreSQL, batched executemany on SQLite).

Always inside the caller's transaction.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import pandas as pd
from sqlalchemy import Table
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from rko_model.errors import WarehouseError
from rko_model.warehouse.backends import backend_for
from rko_model.warehouse.backends.base import table_rows
from rko_model.warehouse.binding import dbapi_errors

log = logging.getLogger(__name__)


def bulk_insert(conn: Connection, table: Table, frame: pd.DataFrame) -> int:
    """Append ``frame``'s rows to ``table`` in the open transaction of ``conn``; returns the row count.

    Columns are matched by name; the frame must hold every column of the table.
    """
    if frame.empty:
        return 0
    frame = table_rows(table, frame)
    backend_for(conn).bulk_insert(conn, table, frame)
    return len(frame)


def refresh_after_load(engine: Engine, tables: Sequence[Table], name: str, loaded: str, which: str) -> None:
    """VACUUM (ANALYZE) ``tables`` after a load committed (where the backend needs it), or a WarehouseError.

    VACUUM marks the freshly loaded pages all-visible: index-only scans then skip the heap, and
    sequential scans skip per-row visibility checks (autovacuum may be off, or late). It cannot
    run inside a transaction, so it runs after the load; a failure is reported, but the load
    stays. ``name`` is what was written (``marts``), ``loaded`` says so for the error (``the marts
    are built``) and ``which`` names its tables.
    """
    started = time.perf_counter()
    try:
        refreshed = backend_for(engine).refresh_statistics(engine, tables)
    except (SQLAlchemyError, *dbapi_errors(engine)) as exc:
        raise WarehouseError(
            f"{loaded}, but VACUUM (ANALYZE) failed: {exc}; run it on {which}, or snapshots read the heap "
            "instead of their index-only scans"
        ) from exc
    if refreshed:
        log.info("%s vacuumed and analysed in %.1f s", name, time.perf_counter() - started)
