"""Engines for the two supported warehouses: SQLite (embedded default) and PostgreSQL.

Anything else is refused here, once, with a one-line :class:`ConfigError`, instead of running
PostgreSQL's paths (COPY, partition swaps, advisory locks, planner checks) on a warehouse that
only looks like PostgreSQL: by its URL (``greenplum://``, ``redshift+psycopg2://``, ...) at
engine creation, and, for a PostgreSQL URL that leads to a look-alike server (Greenplum,
Redshift, CockroachDB, ... report ``postgresql`` as their dialect), on the first connection,
from the server's ``version()``. What a new warehouse must implement is in
``docs/warehouses.md``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError

from rko_model.errors import ConfigError

log = logging.getLogger(__name__)

SUPPORTED_DIALECTS = ("sqlite", "postgresql")
#: Servers that speak PostgreSQL's protocol (and so pass as ``postgresql``) but lack what the project
#: relies on there; their name as it appears in ``SELECT version()``.
POSTGRES_LOOKALIKES = ("Greenplum", "Redshift", "CockroachDB", "YugabyteDB", "Cloudberry", "openGauss")


def not_supported(what: str) -> ConfigError:
    return ConfigError(
        f"{what} is not supported yet: only {', '.join(SUPPORTED_DIALECTS)} are supported "
        "(docs/warehouses.md lists what a new warehouse must implement)"
    )


def make_engine(url: str) -> Engine:
    """Create an engine for ``url``; for SQLite, create the file's folder too."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise ConfigError(f"warehouse URL {url!r} is not a valid SQLAlchemy URL: {exc}") from exc
    backend, _, driver = parsed.drivername.partition("+")
    if backend not in SUPPORTED_DIALECTS or lookalike_of(driver):
        shown = parsed.render_as_string(hide_password=True)
        raise not_supported(f"warehouse URL {shown!r} ({lookalike_of(parsed.drivername) or backend})")
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed)
        event.listen(engine, "connect", sqlite_connect)
        event.listen(engine, "begin", sqlite_begin)
        return engine
    engine = create_engine(parsed, pool_pre_ping=True)
    event.listen(engine, "first_connect", refuse_postgres_lookalikes)
    return engine


def lookalike_of(server_version: str) -> str | None:
    """The look-alike a PostgreSQL-protocol server's ``version()`` names, or None for PostgreSQL itself."""
    return next((name for name in POSTGRES_LOOKALIKES if name.lower() in server_version.lower()), None)


def refuse_postgres_lookalikes(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    """On an engine's first connection: a server that only speaks PostgreSQL's protocol is refused."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("SELECT version()")
        server_version = str(cursor.fetchone()[0])
    finally:
        cursor.close()
    name = lookalike_of(server_version)
    if name is not None:
        raise not_supported(f"{name} (server {server_version.split(',')[0]!r})")


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
    """BEGIN, or BEGIN IMMEDIATE for a connection with the execution option ``sqlite_immediate``.

    A deferred transaction that reads first and then writes fails at once ("database is
    locked") when another writer got there in between; IMMEDIATE takes the write lock at BEGIN
    and waits for it instead (up to the connection's busy timeout).
    """
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("sqlite_immediate") else "BEGIN")


def dialect_of(engine: Engine) -> str:
    """``sqlite`` or ``postgresql``: the suffix of per-dialect SQL files."""
    return engine.dialect.name
