"""Bulk loads through the warehouse's backend (COPY on PostgreSQL, batched executemany on SQLite).

Always inside the caller's transaction.
"""

from __future__ import annotations

import logging

import pandas as pd
from sqlalchemy import Table
from sqlalchemy.engine import Connection

from rko_model.warehouse.backends import backend_for
from rko_model.warehouse.backends.base import table_rows

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
