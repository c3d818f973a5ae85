"""A session that reads several queries against the temporary tables it made: the snapshot's transport.

A snapshot creates ``snapshot_eligible`` and then reads five or six queries that join it, so
they must run in one database session. :func:`open_reader` gives that session as a
:class:`Reader`, whose implementation is the backend's:

- :class:`ConnectionReader`, a SQLAlchemy connection in a transaction that is rolled back at
  the end (SQLite, and any backend without a faster one);
- on PostgreSQL, an Arrow session (ADBC: results cross as binary COPY straight into Arrow
  columns, about 3x faster than COPY ... CSV and ``read_csv`` for the wide features rows;
  ``rko_model.warehouse.backends._arrow``).

Every implementation returns the same frames for the same query: the callers coerce them to
their column kinds (:func:`rko_model.warehouse.query.coerce`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Protocol

import pandas as pd
from sqlalchemy import inspect
from sqlalchemy.engine import Connection, Engine

from rko_model.warehouse.backends import backend_for
from rko_model.warehouse.backends.base import WarehouseBackend
from rko_model.warehouse.binding import Params
from rko_model.warehouse.query import ColumnKind, execute, explain, read_frame

__all__ = ["ConnectionReader", "Reader", "open_reader"]


class Reader(Protocol):
    """One database session: statements, reads and plans, all seeing the session's temporary tables."""

    backend: WarehouseBackend

    def execute(self, sql: str, params: Params | None = None) -> None:
        """Run one statement (a temporary table, ANALYZE, a setting for the session)."""

    def read_frame(self, sql: str, params: Params, kinds: Mapping[str, ColumnKind]) -> pd.DataFrame:
        """The rows of ``sql``, coerced to ``kinds``; raises WarehouseError or DataContractError."""

    def explain(self, sql: str, params: Params) -> dict:
        """The planner's top ``Plan`` node of ``sql`` (planned, not run)."""

    def has_table(self, name: str) -> bool:
        """Whether the warehouse holds table (or view) ``name``."""


class ConnectionReader:
    """A :class:`Reader` over a SQLAlchemy connection (its transaction is the caller's)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.backend = backend_for(conn)

    def execute(self, sql: str, params: Params | None = None) -> None:
        execute(self.conn, sql, params)

    def read_frame(self, sql: str, params: Params, kinds: Mapping[str, ColumnKind]) -> pd.DataFrame:
        return read_frame(self.conn, sql, params, kinds)

    def explain(self, sql: str, params: Params) -> dict:
        return explain(self.conn, sql, params)

    def has_table(self, name: str) -> bool:
        return inspect(self.conn).has_table(name)


@contextmanager
def open_reader(engine: Engine) -> Iterator[Reader]:
    """A reading session on ``engine``: the backend's fastest; nothing it did outlives it.

    Temporary tables and settings are dropped with the session (its transaction is rolled back).
    """
    with backend_for(engine).open_reader(engine) as reader:
        yield reader


@contextmanager
def connection_reader(engine: Engine) -> Iterator[Reader]:
    """The portable session: a SQLAlchemy connection whose transaction is rolled back at the end."""
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            yield ConnectionReader(conn)
        finally:
            transaction.rollback()
