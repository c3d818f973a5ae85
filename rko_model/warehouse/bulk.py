"""Bulk loads: COPY on PostgreSQL, batched executemany on SQLite, always inside the caller's transaction."""

from __future__ import annotations

import io
import logging
from collections.abc import Collection, Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from sqlalchemy import BigInteger, Date, Float, Integer, SmallInteger, Table
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
    formats = _binary_formats(table, frame)
    if formats is not None:
        buffer, kind = io.BytesIO(binary_copy_bytes(frame, formats)), "binary"
    else:
        dates = {c.name for c in table.columns if isinstance(c.type, Date)}  # DateTime is not a Date
        buffer, kind = io.BytesIO(csv_bytes(frame, dates)), "csv"
    preparer = conn.dialect.identifier_preparer
    target = preparer.format_table(table)
    cols = ", ".join(preparer.quote(c) for c in frame.columns)
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.copy_expert(f"COPY {target} ({cols}) FROM STDIN WITH (FORMAT {kind})", buffer)
    finally:
        cursor.close()


#: PostgreSQL's binary COPY layout of the fixed-width types, big-endian.
_BINARY_FORMATS: dict[type, str] = {BigInteger: ">i8", Integer: ">i4", SmallInteger: ">i2", Float: ">f8"}


def _binary_formats(table: Table, frame: pd.DataFrame) -> list[str] | None:
    """Binary layouts of the columns when every one is a non-null fixed-width number, else None."""
    formats = []
    for column in table.columns:
        layout = _BINARY_FORMATS.get(type(column.type))
        series = frame[column.name]
        if layout is None or not pd.api.types.is_numeric_dtype(series) or series.isna().any():
            return None
        formats.append(layout)
    return formats


def binary_copy_bytes(frame: pd.DataFrame, formats: list[str]) -> bytes:
    """The frame in COPY's binary format, built column-wise by numpy: about half CSV's cost to send and parse.

    Each row is a field count, then a byte length and the big-endian value of each field.
    """
    fields: list[tuple[str, str]] = [("count", ">i2")]
    for i, layout in enumerate(formats):
        fields += [(f"len{i}", ">i4"), (f"val{i}", layout)]
    rows = np.empty(len(frame), dtype=np.dtype(fields))
    rows["count"] = len(formats)
    for i, (name, layout) in enumerate(zip(frame.columns, formats, strict=True)):
        rows[f"len{i}"] = np.dtype(layout).itemsize
        rows[f"val{i}"] = frame[name].to_numpy()
    header = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, header-extension length
    return header + rows.tobytes() + b"\xff\xff"  # trailer: a field count of -1


def csv_bytes(frame: pd.DataFrame, date_columns: Collection[str] = ()) -> bytes:
    """The frame as header-less CSV for COPY: Arrow's writer is about 10x faster than ``to_csv``.

    Timestamps of ``date_columns`` become dates (pandas holds dates as timestamps); missing
    values become empty unquoted fields, which COPY reads as NULL.
    """
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for i, field in enumerate(table.schema):
        if field.name in date_columns and pa.types.is_timestamp(field.type):
            table = table.set_column(i, field.name, pc.cast(table.column(i), pa.date32()))
    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink, write_options=pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    return sink.getvalue().to_pybytes()


def _executemany_into(conn: Connection, table: Table, frame: pd.DataFrame) -> None:
    preparer = conn.dialect.identifier_preparer
    target = preparer.format_table(table)
    cols = ", ".join(preparer.quote(c) for c in frame.columns)
    marks = ", ".join("?" for _ in frame.columns)
    dates = {c.name for c in table.columns if isinstance(c.type, Date)}
    statement = f"INSERT INTO {target} ({cols}) VALUES ({marks})"
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        for start in range(0, len(frame), SQLITE_BATCH_ROWS):
            cursor.executemany(statement, _python_rows(frame.iloc[start : start + SQLITE_BATCH_ROWS], dates))
    finally:
        cursor.close()


def _python_rows(frame: pd.DataFrame, date_columns: Collection[str]) -> Iterator[tuple[object, ...]]:
    """Rows as plain Python values: ISO dates and timestamps, None for missing values."""
    columns = [_python_values(frame[c], c in date_columns) for c in frame.columns]
    return zip(*columns, strict=True)


def _python_values(series: pd.Series, is_date: bool) -> list[object]:
    if pd.api.types.is_datetime64_any_dtype(series):
        text = series.dt.strftime("%Y-%m-%d" if is_date else "%Y-%m-%d %H:%M:%S")
        return text.astype(object).where(series.notna(), None).tolist()
    if pd.api.types.is_float_dtype(series) and not series.isna().any():
        return series.to_numpy(dtype=np.float64).tolist()
    if pd.api.types.is_integer_dtype(series) and not series.isna().any():
        return series.to_numpy(dtype=np.int64).tolist()
    return series.astype(object).where(series.notna(), None).tolist()
