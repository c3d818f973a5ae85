"""Least-privilege PostgreSQL roles for the scoring job and the marketing optimizer.

``sql/roles/roles.postgresql.sql`` does the work (through the PostgreSQL backend's
``set_up_roles``); this module creates what it grants on (the staging and monitoring tables;
the backend adds the publishing functions) and hands it the role names and the
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

from rko_model.errors import WarehouseError
from rko_model.warehouse.backends import backend_for
from rko_model.warehouse.privileges import grants
from rko_model.warehouse.query import dbapi_errors
from rko_model.warehouse.staging import ensure_tables

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RoleNames:
    """The roles' names and the schema of the warehouse's contract tables (the script's defaults)."""

    owner_role: str = "rko_owner"
    scoring_role: str = "rko_scoring"
    reader_role: str = "rko_optimizer_reader"
    warehouse_schema: str = "public"


def set_up_roles(engine: Engine, sql_dir: Path, names: RoleNames | None = None) -> RoleNames:
    """Create or refresh the roles and their grants in one transaction (a warehouse with roles: PostgreSQL)."""
    names = names or RoleNames()
    settings = {f"rko.{key}": value for key, value in asdict(names).items()}
    settings["rko.grants"] = json.dumps(grants(names.warehouse_schema))
    try:
        backend_for(engine).set_up_roles(engine, sql_dir, settings, ensure_tables)
    except (SQLAlchemyError, *dbapi_errors(engine)) as exc:
        raise WarehouseError(f"setting up the roles failed and was rolled back: {exc}") from exc
    log.info("roles %s, %s, %s set up", names.owner_role, names.scoring_role, names.reader_role)
    return names
