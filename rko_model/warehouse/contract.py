"""The data contract checked against a warehouse's catalogue before anything is read.

A view that lacks or renames a contract column would otherwise fail deep inside a snapshot
query with the database's own words; this check names the table, the missing columns and
the columns found instead, so the person who maintains the views knows what to fix. It
reads the catalogue only (a handful of small queries), never the data.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from rko_model.errors import DataContractError, WarehouseError
from rko_model.warehouse.backends import backend_for
from rko_model.warehouse.schema import CONTRACT_TABLES, INDEXES

log = logging.getLogger(__name__)

DOC = "docs/data_contract.md"

#: The PostgreSQL snapshot reads each client's window of these tables through an index on
#: these leading columns (sql/snapshot/*.postgresql.sql); without one, every client costs a scan.
CLIENT_WINDOW_INDEXES = {
    spec.table.name: spec.columns
    for spec in INDEXES
    if spec.table in CONTRACT_TABLES and spec.columns[0] == "client_id" and spec.include
}


def contract_problems(engine: Engine) -> list[str]:
    """Contract tables or views that are missing, and contract columns they lack (with what is there instead)."""
    try:
        inspector = sa.inspect(engine)
        present = {n.lower() for n in (*inspector.get_table_names(), *inspector.get_view_names())}
        problems = []
        for table in CONTRACT_TABLES:
            if table.name not in present:
                problems.append(f"no table or view {table.name}")
                continue
            found = [c["name"].lower() for c in inspector.get_columns(table.name)]
            expected = [c.name for c in table.columns]
            missing = [c for c in expected if c not in found]
            if missing:
                extra = [c for c in found if c not in expected]
                instead = f" (it has {', '.join(extra)} instead: renamed?)" if extra else ""
                problems.append(f"{table.name} lacks column {', '.join(missing)}{instead}")
    except SQLAlchemyError as exc:
        raise WarehouseError(f"could not read the warehouse's catalogue: {exc}") from exc
    return problems


def check_contract(engine: Engine) -> None:
    """Refuse a warehouse whose tables or views do not provide every contract column."""
    problems = contract_problems(engine)
    for warning in index_warnings(engine):
        log.warning("%s", warning)
    if problems:
        raise DataContractError(
            f"the warehouse does not meet the data contract ({DOC}): {'; '.join(problems)}; "
            "fix the views or tables, then run again"
        )


def index_warnings(engine: Engine) -> list[str]:
    """Contract tables (not views: their indexes are out of sight) without the per-client index the snapshot needs.

    Only where the backend's snapshot SQL reads each client through an index (PostgreSQL): the
    other engines run the join-and-group SQL, which needs no such index.
    """
    if not backend_for(engine).per_client_index_reads:
        return []
    try:
        inspector = sa.inspect(engine)
        tables = {n.lower() for n in inspector.get_table_names()}
        warnings = []
        for name, leading in CLIENT_WINDOW_INDEXES.items():
            if name not in tables:
                continue
            keys = [ix["column_names"] for ix in inspector.get_indexes(name)]
            keys.append(inspector.get_pk_constraint(name).get("constrained_columns") or [])  # not among the indexes
            indexed = {tuple(k[: len(leading)]) for k in keys}
            if leading not in indexed:
                warnings.append(
                    f"table {name} has no index on ({', '.join(leading)}): the snapshot reads each client's window "
                    f"through one and will be slow without it (see {DOC}, the indexes)"
                )
    except SQLAlchemyError as exc:
        raise WarehouseError(f"could not read the warehouse's catalogue: {exc}") from exc
    return warnings
