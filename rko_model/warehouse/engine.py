"""Engines for the two supported warehouses: SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError

from rko_model.errors import ConfigError

log = logging.getLogger(__name__)

SUPPORTED_DIALECTS = ("sqlite", "postgresql")


def make_engine(url: str) -> Engine:
    """Create an engine for ``url``; for SQLite, create the file's folder too."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise ConfigError(f"warehouse URL {url!r} is not a valid SQLAlchemy URL: {exc}") from exc
    if parsed.get_backend_name() not in SUPPORTED_DIALECTS:
        raise ConfigError(
            f"warehouse URL {parsed.render_as_string(hide_password=True)!r}: "
            f"only {', '.join(SUPPORTED_DIALECTS)} are supported"
        )
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed)
        event.listen(engine, "connect", sqlite_connect)
        event.listen(engine, "begin", sqlite_begin)
        return engine
    return create_engine(parsed, pool_pre_ping=True)


def sqlite_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    """Take transactions out of pysqlite's hands; WAL lets readers go on while a month is written.

    pysqlite only opens a transaction before DML, so DDL (a table dropped and recreated)
    would commit on its own; with ``isolation_level = None`` and an explicit BEGIN (see
    :func:`sqlite_begin`) a whole load is one transaction, as on PostgreSQL.
    """
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def sqlite_begin(conn) -> None:  # type: ignore[no-untyped-def]
    conn.exec_driver_sql("BEGIN")


def dialect_of(engine: Engine) -> str:
    """``sqlite`` or ``postgresql``: the suffix of per-dialect SQL files."""
    return engine.dialect.name
