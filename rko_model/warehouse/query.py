"""Reading query results into DataFrames (fast, through the warehouse's backend) and running statements.

Values reach SQL only as bound parameters: list values become expanding ``IN`` parameters,
dates are bound as the backend binds them (ISO text on SQLite), and on PostgreSQL the driver
itself binds them before COPY.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Literal

import pandas as pd
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from rko_model.errors import DataContractError, WarehouseError
from rko_model.warehouse.backends import backend_for
from rko_model.warehouse.binding import Params, dbapi_errors, statement, used_params

__all__ = [
    "ColumnKind",
    "Params",
    "coerce",
    "dbapi_errors",
    "execute",
    "execute_scalar",
    "explain",
    "read_frame",
    "statement",
    "used_params",
]

log = logging.getLogger(__name__)

ColumnKind = Literal["int", "float", "str", "date"]


def read_frame(
    engine: Engine | Connection, sql: str, params: Params, kinds: Mapping[str, ColumnKind] | None = None
) -> pd.DataFrame:
    """Run ``sql`` with ``params`` and return its rows, columns coerced to ``kinds``."""
    params = used_params(sql, params)
    try:
        frame = backend_for(engine).read_frame(engine, sql, params, kinds or {})
    except (SQLAlchemyError, *dbapi_errors(engine)) as exc:
        raise WarehouseError(f"query failed: {exc.__class__.__name__}: {exc}") from exc
    return coerce(frame, kinds or {})


def execute(conn: Connection, sql: str, params: Params | None = None) -> int:
    """Run one statement in the caller's transaction; returns the affected row count."""
    params = backend_for(conn).bind_values(used_params(sql, params or {}))
    return conn.execute(statement(sql, params), params).rowcount


def execute_scalar(conn: Connection, sql: str, params: Params | None = None) -> object:
    """Run one query in the caller's transaction; returns the first column of its first row (or None)."""
    params = backend_for(conn).bind_values(used_params(sql, params or {}))
    return conn.execute(statement(sql, params), params).scalar()


def explain(conn: Connection, sql: str, params: Params) -> dict:
    """The warehouse's plan of ``sql`` (planned, not run) as a dict (PostgreSQL: ``EXPLAIN (FORMAT JSON)``)."""
    try:
        return backend_for(conn).explain(conn, sql, params)
    except (SQLAlchemyError, *dbapi_errors(conn)) as exc:
        raise WarehouseError(f"could not plan a query: {exc.__class__.__name__}: {exc}") from exc


def coerce(frame: pd.DataFrame, kinds: Mapping[str, ColumnKind]) -> pd.DataFrame:
    """Give both engines' results the same dtypes: nullable ints stay float only if NaN is present.

    A value that does not fit its kind (text in a numeric contract column, a malformed date)
    is the warehouse's, so it raises :class:`DataContractError` naming the column and the value.
    """
    out = frame.copy()
    for column, kind in kinds.items():
        if column not in out.columns:
            continue
        try:
            out[column] = _coerced(out[column], kind)
        except (ValueError, TypeError, OverflowError) as exc:
            raise DataContractError(
                f"column {column} should hold {_KIND_WORDS[kind]} but holds {_first_misfit(out[column], kind)!r}: "
                "a contract column of the wrong type? see docs/data_contract.md"
            ) from exc
    return out


_KIND_WORDS = {"date": "dates (YYYY-MM-DD)", "str": "text", "float": "numbers", "int": "whole numbers"}


def _first_misfit(series: pd.Series, kind: ColumnKind) -> object:
    """The first value that does not convert to ``kind`` (for the error message)."""
    present = series.dropna()
    if kind == "date":
        bad = pd.to_datetime(present, format="%Y-%m-%d", errors="coerce").isna()
    else:
        bad = pd.to_numeric(present, errors="coerce").isna()
    return present[bad].iloc[0] if bad.any() else (present.iloc[0] if len(present) else None)


def _coerced(series: pd.Series, kind: ColumnKind) -> pd.Series:
    if kind == "date":
        return pd.to_datetime(series, format="%Y-%m-%d").astype("datetime64[s]")
    if kind == "str":
        return series.astype("str")
    if kind == "float":
        return pd.to_numeric(series, errors="raise").astype("float64")
    numeric = pd.to_numeric(series, errors="raise")
    return numeric.astype("int64") if not numeric.isna().any() else numeric.astype("Int64")
