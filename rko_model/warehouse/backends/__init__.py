"""One backend per warehouse, behind one interface (:class:`~rko_model.warehouse.backends.base.WarehouseBackend`).

:func:`backend_for` is the one place that looks at the dialect: given a URL it picks the
backend (and refuses a warehouse without one, Greenplum first of all), given an engine or a
connection it returns the backend its engine was made by. Nothing else in ``rko_model``
branches on the dialect. What a new warehouse implements: docs/warehouses.md.
"""

from __future__ import annotations

from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError

from rko_model.errors import ConfigError
from rko_model.warehouse.backends._postgresql import PostgreSQLBackend
from rko_model.warehouse.backends._sqlite import SQLiteBackend
from rko_model.warehouse.backends.base import WarehouseBackend
from rko_model.warehouse.backends.support import SUPPORTED_DIALECTS, lookalike_of, not_supported

__all__ = ["SUPPORTED_DIALECTS", "WarehouseBackend", "backend_for", "lookalike_of", "not_supported", "parse_url"]

#: The backends, by the dialect name SQLAlchemy reports for their engines.
BACKENDS: dict[str, WarehouseBackend] = {backend.name: backend for backend in (SQLiteBackend(), PostgreSQLBackend())}
assert tuple(BACKENDS) == SUPPORTED_DIALECTS


def parse_url(url: str | URL) -> URL:
    """``url`` parsed, or a one-line :class:`ConfigError` for text that is no SQLAlchemy URL."""
    if isinstance(url, URL):
        return url
    try:
        return make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise ConfigError(f"warehouse URL {url!r} is not a valid SQLAlchemy URL: {exc}") from exc


def backend_for(target: str | URL | Engine | Connection) -> WarehouseBackend:
    """The backend of a warehouse URL, or of the engine behind an engine or connection.

    A URL is judged by its scheme: a backend without an implementation, or a PostgreSQL
    driver that names a look-alike (``postgresql+greenplum://``), is refused with one line.
    A ``postgresql://`` URL that leads to Greenplum is refused on the engine's first
    connection (see :func:`rko_model.warehouse.backends.support.refuse_postgres_lookalikes`).
    """
    if isinstance(target, Engine | Connection):
        name = target.dialect.name
        if name not in BACKENDS:
            raise not_supported(f"warehouse {target.engine.url.render_as_string(hide_password=True)!r} ({name})")
        return BACKENDS[name]
    parsed = parse_url(target)
    backend, _, driver = parsed.drivername.partition("+")
    if backend not in BACKENDS or lookalike_of(driver):
        shown = parsed.render_as_string(hide_password=True)
        raise not_supported(f"warehouse URL {shown!r} ({lookalike_of(parsed.drivername) or backend})")
    return BACKENDS[backend]
