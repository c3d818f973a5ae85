"""Small helpers shared by the tests."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy.engine import Engine

from rko_model import columns as col
from rko_model.settings import Settings
from rko_model.snapshot import extract_snapshot
from rko_model.warehouse import schema
from rko_model.warehouse.bulk import bulk_insert
from rko_model.warehouse.query import execute, read_frame


def run(engine: Engine, sql: str, **params: object) -> int:
    with engine.begin() as conn:
        return execute(conn, sql, params)


def insert(engine: Engine, table: str, rows: list[dict[str, object]]) -> None:
    target = schema.metadata.tables[table]
    frame = pd.DataFrame(rows, columns=[c.name for c in target.columns])
    for column in target.columns:
        if column.type.python_type is dt.date:
            frame[column.name] = pd.to_datetime(frame[column.name]).astype("datetime64[s]")
    with engine.begin() as conn:
        bulk_insert(conn, target, frame)


def table(engine: Engine, name: str) -> pd.DataFrame:
    target = schema.metadata.tables[name]
    by_type = {dt.date: "date", str: "str", int: "int", float: "float"}
    kinds = {c.name: by_type[c.type.python_type] for c in target.columns}
    return read_frame(engine, f"SELECT * FROM {name}", {}, kinds)  # type: ignore[arg-type]


def eligible_client(engine: Engine, settings: Settings, report_date: dt.date) -> int:
    """An eligible client with payments and app sessions in the report month."""
    frame = extract_snapshot(engine, report_date, settings)
    active = frame[(frame["pay_out_cnt_1m"] > 0) & (frame["app_sessions_1m"] > 0)]
    return int(active[col.CLIENT_ID].iloc[0])
