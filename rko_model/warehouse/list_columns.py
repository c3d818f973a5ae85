"""The columns the pilot added to the published list, and the migration of a list table made before them.

Version 2 of ``mo_staging.rko_propensity`` adds, after the version-1 columns: the client's
``arm``, its ``rules_rank``, the ``do_not_contact`` flag of the control group, and the top 3
``reason_*`` codes with their ``reason_text``. All are nullable and appended, so a reader of
version 1 (``SELECT report_date, client_id, score, rank, ...``) is unaffected. A table of
version 1 gets them by ``ALTER TABLE ... ADD COLUMN`` (:func:`add_missing_columns`), on a
PostgreSQL partitioned table once for every partition, on SQLite in its attached file;
the rows of earlier months keep NULL there. See ``docs/optimizer_contract.md``.
"""

from __future__ import annotations

import logging

from sqlalchemy import Column, Integer, String, Table, Text, inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import CreateColumn, DDLElement

log = logging.getLogger(__name__)

#: Reasons per listed client.
REASONS = 3
REASON_COLUMNS = tuple(f"reason_{i}" for i in range(1, REASONS + 1))


def pilot_columns() -> list[Column]:
    """Fresh Column objects of version 2 (a Column belongs to one table, so each caller gets its own)."""
    return [
        Column("arm", String(8), comment="model, rules or control (stable per client for a pilot)"),
        Column("rules_rank", Integer, comment="rank by the business rules, 1 = first; for the rules arm"),
        Column("do_not_contact", Integer, comment="1 = control group: publish, measure, never contact"),
        *(
            Column(name, String(48), comment=f"reason code {name[-1]} (contacted deciles only)")
            for name in REASON_COLUMNS
        ),
        Column("reason_text", Text, comment="the reasons as phrases for client managers (Russian)"),
    ]


PILOT_COLUMN_NAMES = tuple(c.name for c in pilot_columns())


class AddColumn(DDLElement):
    """``ALTER TABLE <table> ADD COLUMN <column>``, compiled by the dialect (names quoted by its preparer)."""

    def __init__(self, table: Table, column: Column) -> None:
        self.table = table
        self.column = column


@compiles(AddColumn)
def _add_column(element: AddColumn, compiler, **kw) -> str:  # type: ignore[no-untyped-def]
    table = compiler.preparer.format_table(element.table)
    column = compiler.process(CreateColumn(element.column), **kw)
    return f"ALTER TABLE {table} ADD COLUMN {column}"


def add_missing_columns(conn: Connection, table: Table, names: tuple[str, ...] = PILOT_COLUMN_NAMES) -> list[str]:
    """Add the columns ``names`` of ``table`` that the database's table lacks (an earlier version); returns them."""
    present = {c["name"] for c in inspect(conn).get_columns(table.name, schema=table.schema)}
    missing = [c for c in table.columns if c.name in names and c.name not in present]
    for column in missing:
        detached = Column(column.name, column.type, comment=column.comment)
        conn.execute(AddColumn(table, detached))
    if missing:
        log.info("migrated %s.%s: added %s", table.schema, table.name, ", ".join(c.name for c in missing))
    return [c.name for c in missing]
