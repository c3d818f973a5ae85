"""Reading query results into DataFrames, fast on PostgreSQL (COPY TO) and simple on SQLite.

Values reach SQL only as bound parameters: list values become expanding ``IN`` parameters,
dates are bound as dates, and on PostgreSQL the driver itself binds them before COPY.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import tempfile
from collections.abc import Mapping
from typing import Literal

import pandas as pd
from sqlalchemy import Date, Integer, String, bindparam, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.types import TypeEngine

from rko_model.errors import DataContractError, WarehouseError

log = logging.getLogger(__name__)

ColumnKind = Literal["int", "float", "str", "date"]
Params = Mapping[str, object]


_BIND = re.compile(r"(?<![:\w]):(\w+)")


def used_params(sql: str, params: Params) -> dict[str, object]:
    """The subset of ``params`` that ``sql`` names: one parameter set can serve several files."""
    names = set(_BIND.findall(sql))
    return {k: v for k, v in params.items() if k in names}


def statement(sql: str, params: Params) -> TextClause:
    """A text statement whose list- or tuple-valued parameters expand into ``IN (...)``.

    An empty list stays typed (as text unless its first element says otherwise), so that
    ``x NOT IN :empty`` is valid on PostgreSQL too.
    """
    expanding = [
        bindparam(k, expanding=True, type_=_element_type(v)) for k, v in params.items() if isinstance(v, list | tuple)
    ]
    return text(sql).bindparams(*expanding) if expanding else text(sql)


def _element_type(values: list | tuple) -> type[TypeEngine]:  # type: ignore[type-arg]
    first = values[0] if values else ""
    if isinstance(first, bool | int):
        return Integer
    if isinstance(first, dt.date):
        return Date
    return String


def read_frame(
    engine: Engine | Connection, sql: str, params: Params, kinds: Mapping[str, ColumnKind] | None = None
) -> pd.DataFrame:
    """Run ``sql`` with ``params`` and return its rows, columns coerced to ``kinds``."""
    params = used_params(sql, params)
    try:
        if engine.dialect.name == "postgresql":
            frame = _read_postgres(engine, sql, params, kinds or {})
        else:
            frame = _read_generic(engine, sql, params)
    except (SQLAlchemyError, *dbapi_errors(engine)) as exc:
        raise WarehouseError(f"query failed: {exc.__class__.__name__}: {exc}") from exc
    return coerce(frame, kinds or {})


def dbapi_errors(engine: Engine | Connection) -> tuple[type[Exception], ...]:
    """The driver's own error base: raw-cursor paths (COPY, executemany) raise these, not SQLAlchemy's."""
    return (engine.dialect.loaded_dbapi.Error,)


def execute(conn: Connection, sql: str, params: Params | None = None) -> int:
    """Run one statement in the caller's transaction; returns the affected row count."""
    params = used_params(sql, params or {})
    if conn.dialect.name != "postgresql":
        params = {k: _sqlite_value(v) for k, v in params.items()}
    return conn.execute(statement(sql, params), params).rowcount


def execute_scalar(conn: Connection, sql: str, params: Params | None = None) -> object:
    """Run one query in the caller's transaction; returns the first column of its first row (or None)."""
    params = used_params(sql, params or {})
    if conn.dialect.name != "postgresql":
        params = {k: _sqlite_value(v) for k, v in params.items()}
    return conn.execute(statement(sql, params), params).scalar()


def _read_generic(engine: Engine | Connection, sql: str, params: Params) -> pd.DataFrame:
    bound = {k: _sqlite_value(v) for k, v in params.items()}
    if isinstance(engine, Engine):
        with engine.connect() as conn:
            result = conn.execute(statement(sql, bound), bound)
            return pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    result = engine.execute(statement(sql, bound), bound)
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def _sqlite_value(value: object) -> object:
    """SQLite stores dates as ISO text; bind them the same way so comparisons are textual."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_sqlite_value(v) for v in value]
    return value


def bind_postgres(cursor, dialect, sql: str, params: Params) -> str:  # type: ignore[no-untyped-def]
    """``sql`` with the values it names bound by the driver (quoted and escaped), as plain text.

    What COPY (query) and EXPLAIN need, since neither takes bound parameters itself.
    """
    values = {k: _postgres_value(v) for k, v in used_params(sql, params).items()}
    compiled = (
        statement(sql, values)
        .bindparams(**values)
        .compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    )
    return cursor.mogrify(compiled.string, compiled.params).decode()


def _read_postgres(
    engine: Engine | Connection, sql: str, params: Params, kinds: Mapping[str, ColumnKind]
) -> pd.DataFrame:
    """COPY (query) TO a spooled file, then read_csv: about 10x faster than row fetching."""
    if isinstance(engine, Engine):
        with engine.connect() as conn:
            return _read_postgres(conn, sql, params, kinds)
    cursor = engine.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        bound_sql = bind_postgres(cursor, engine.dialect, sql, params)
        with tempfile.TemporaryFile(mode="w+b") as sink:
            cursor.copy_expert(f"COPY ({bound_sql}) TO STDOUT WITH (FORMAT csv, HEADER true)", sink)
            sink.seek(0)
            if sink.read(1) == b"":
                columns = [d.name for d in _describe(cursor, bound_sql)]
                return pd.DataFrame({c: [] for c in columns})
            sink.seek(0)
            dtype = {c: "str" for c, k in kinds.items() if k in ("str", "date")}
            return pd.read_csv(sink, dtype=dtype, keep_default_na=False, na_values=[""])
    finally:
        cursor.close()


def explain(conn: Connection, sql: str, params: Params) -> dict:
    """PostgreSQL's plan of ``sql`` (``EXPLAIN (FORMAT JSON)``, planned, not run) as a dict."""
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute("EXPLAIN (FORMAT JSON) " + bind_postgres(cursor, conn.dialect, sql, params))
        document = cursor.fetchone()[0]
    except dbapi_errors(conn) as exc:
        raise WarehouseError(f"could not plan a query: {exc.__class__.__name__}: {exc}") from exc
    finally:
        cursor.close()
    return (json.loads(document) if isinstance(document, str) else document)[0]["Plan"]


def _describe(cursor, bound_sql: str):  # type: ignore[no-untyped-def]
    cursor.execute(f"SELECT * FROM ({bound_sql}) AS q LIMIT 0")
    return cursor.description


def _postgres_value(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value


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
