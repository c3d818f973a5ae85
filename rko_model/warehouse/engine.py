"""Engines for the supported warehouses: SQLite (embedded default) and PostgreSQL.

The URL chooses the backend once (:func:`rko_model.warehouse.backends.backend_for`), which
creates the engine. Anything else is refused here, once, with a one-line :class:`ConfigError`,
instead of running PostgreSQL's paths (COPY, partition swaps, advisory locks, planner checks)
on a warehouse that only looks like PostgreSQL: by its URL (``greenplum://``,
``redshift+psycopg2://``, ...) at engine creation, and, for a PostgreSQL URL that leads to a
look-alike server (Greenplum, Redshift, CockroachDB, ... report ``postgresql`` as their
dialect), on the first connection, from the server's ``version()``. What a new warehouse must
implement is in ``docs/warehouses.md``.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from rko_model.warehouse.backends import backend_for, parse_url
from rko_model.warehouse.backends.support import SUPPORTED_DIALECTS, lookalike_of, not_supported

__all__ = ["SUPPORTED_DIALECTS", "lookalike_of", "make_engine", "not_supported"]


def make_engine(url: str) -> Engine:
    """Create an engine for ``url`` through its backend (for SQLite, the file's folder too)."""
    parsed = parse_url(url)
    return backend_for(parsed).create_engine(parsed)
