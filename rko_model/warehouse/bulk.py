"""Bulk loads: COPY on PostgreSQL, batched executemany on SQLite, always inside the caller's transaction."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from sqlalchemy import Table
from sqlalchemy.engine import Connection

log = logging.getLogger(__name__)

#: Rows per executemany call on SQLite: bounds the Python objects alive at once.
SQLITE_BATCH_ROWS = 50_000


def bulk_insert(conn: Connection, table: Table, frame: pd.DataFrame) -> int:
    """Append ``frame``'s rows to ``table`` in the open transaction of ``conn``; returns the row count.

    Columns are matched by name; the frame must hold every column of the table.
    """
    if frame.empty:
        return 0
    columns = [c.name for c in table.columns]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"frame for {table.name} lacks columns {missing}")
    frame = frame[columns]
    if conn.dialect.name == "postgresql":
        _copy_into(conn, table, frame)
    else:
        _executemany_into(conn, table, frame)
    return len(frame)


def _copy_into(conn: Connection, table: Table, frame: pd.DataFrame) -> None:
    buffer = io.BytesIO(csv_bytes(frame))
    preparer = conn.dialect.identifier_preparer
    target = preparer.format_table(table)
    cols = ", ".join(preparer.quote(c) for c in frame.columns)
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.copy_expert(f"COPY {target} ({cols}) FROM STDIN WITH (FORMAT csv)", buffer)
    finally:
        cursor.close()


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """The frame as header-less CSV for COPY: Arrow's writer is about 10x faster than ``to_csv``.

    Timestamps become dates (the contract's columns are dates); missing values become empty
    unquoted fields, which COPY reads as NULL.
    """
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type):
            table = table.set_column(i, field.name, pc.cast(table.column(i), pa.date32()))
    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink, write_options=pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    return sink.getvalue().to_pybytes()


def _executemany_into(conn: Connection, table: Table, frame: pd.DataFrame) -> None:
    preparer = conn.dialect.identifier_preparer
    target = preparer.format_table(table)
    cols = ", ".join(preparer.quote(c) for c in frame.columns)
    marks = ", ".join("?" for _ in frame.columns)
    statement = f"INSERT INTO {target} ({cols}) VALUES ({marks})"
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        for start in range(0, len(frame), SQLITE_BATCH_ROWS):
            cursor.executemany(statement, _python_rows(frame.iloc[start : start + SQLITE_BATCH_ROWS]))
    finally:
        cursor.close()


def _python_rows(frame: pd.DataFrame) -> Iterator[tuple[object, ...]]:
    """Rows as plain Python values: ISO dates, None for missing values."""
    columns = [_python_values(frame[c]) for c in frame.columns]
    return zip(*columns, strict=True)


def _python_values(series: pd.Series) -> list[object]:
    if pd.api.types.is_datetime64_any_dtype(series):
        text = series.dt.strftime("%Y-%m-%d")
        return text.astype(object).where(series.notna(), None).tolist()
    if pd.api.types.is_float_dtype(series) and not series.isna().any():
        return series.to_numpy(dtype=np.float64).tolist()
    if pd.api.types.is_integer_dtype(series) and not series.isna().any():
        return series.to_numpy(dtype=np.int64).tolist()
    return series.astype(object).where(series.notna(), None).tolist()
