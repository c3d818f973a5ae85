"""Least-privilege PostgreSQL roles for the scoring job and the marketing optimizer.

``sql/roles/roles.postgresql.sql`` does the work; this module creates what it grants on (the
staging and monitoring tables, the publishing functions) and hands it the role names and the
allowed cells of :mod:`rko_model.warehouse.privileges` as session settings (bound values,
read on the server and quoted there by ``format('%I')``), so that no name is ever pasted
into DDL here. Run by ``rko roles`` as a superuser.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from rko_model.errors import ConfigError, WarehouseError
from rko_model.warehouse.privileges import grants
from rko_model.warehouse.query import dbapi_errors, execute_scalar
from rko_model.warehouse.sqlfiles import load_sql
from rko_model.warehouse.staging import ensure_tables, install_publish_functions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RoleNames:
    """The roles' names and the schema of the warehouse's contract tables (the script's defaults)."""

    owner_role: str = "rko_owner"
    scoring_role: str = "rko_scoring"
    reader_role: str = "rko_optimizer_reader"
    warehouse_schema: str = "public"


def set_up_roles(engine: Engine, sql_dir: Path, names: RoleNames | None = None) -> RoleNames:
    """Create or refresh the roles and their grants in one transaction (PostgreSQL only)."""
    names = names or RoleNames()
    if engine.dialect.name != "postgresql":
        raise ConfigError(f"database roles need PostgreSQL; {engine.dialect.name} has none")
    try:
        with engine.begin() as conn:
            ensure_tables(conn)
            install_publish_functions(conn, sql_dir)
            settings = {f"rko.{key}": value for key, value in asdict(names).items()}
            settings["rko.grants"] = json.dumps(grants(names.warehouse_schema))
            for key, value in settings.items():
                execute_scalar(conn, "SELECT set_config(:key, :value, true)", {"key": key, "value": value})
            dbapi_connection = conn.connection.dbapi_connection
            cursor = dbapi_connection.cursor()  # type: ignore[union-attr]
            try:  # no parameters: the driver must not read format()'s %I as placeholders
                cursor.execute(load_sql(sql_dir, "roles/roles", "postgresql"))
            finally:
                cursor.close()
            for notice in getattr(dbapi_connection, "notices", []):
                log.warning("roles: %s", notice.strip())
    except (SQLAlchemyError, *dbapi_errors(engine)) as exc:
        raise WarehouseError(f"setting up the roles failed and was rolled back: {exc}") from exc
    log.info("roles %s, %s, %s set up", names.owner_role, names.scoring_role, names.reader_role)
    return names
