"""Which warehouses are supported, and how a look-alike of PostgreSQL is told from the real one.

Greenplum, Redshift, CockroachDB, ... speak PostgreSQL's protocol and report ``postgresql`` as
their dialect, but lack what the PostgreSQL backend relies on (partition swaps, advisory
locks, the planner's node names): they are refused by URL when the engine is created and by
the server's ``version()`` on its first connection, with the one-line error below.
"""

from __future__ import annotations

from rko_model.errors import ConfigError

#: The dialect names of the backends in ``backends/__init__.py``.
SUPPORTED_DIALECTS = ("sqlite", "postgresql")
#: Servers that speak PostgreSQL's protocol (and so pass as ``postgresql``) but lack what the project
#: relies on there; their name as it appears in ``SELECT version()`` (and in a URL's scheme or driver).
POSTGRES_LOOKALIKES = ("Greenplum", "Redshift", "CockroachDB", "YugabyteDB", "Cloudberry", "openGauss")
#: What a new backend implements (docs/warehouses.md has the list and the SQL files and roles it needs).
INTERFACE = "rko_model.warehouse.backends.base.WarehouseBackend"


def not_supported(what: str) -> ConfigError:
    """The one-line error of a warehouse without a backend, naming what a new backend implements."""
    return ConfigError(
        f"{what} is not supported yet: only {', '.join(SUPPORTED_DIALECTS)} are supported; a new warehouse "
        f"needs a backend implementing {INTERFACE} (docs/warehouses.md lists what a new warehouse must implement)"
    )


def lookalike_of(server_version: str) -> str | None:
    """The look-alike a PostgreSQL-protocol server's ``version()`` (or a URL's scheme) names, or None."""
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
