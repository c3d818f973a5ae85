"""The one table of who may do what on PostgreSQL: role x object x verb.

It drives both ``sql/roles/roles.postgresql.sql`` (which grants exactly the allowed cells that
are grantable and revokes everything else on the project's objects) and
``tests/test_privileges.py``, which logs in as each role and tries every cell for real.
``docs/security.md`` shows it (a test keeps the two equal).

Objects are ``schema.name``; ``{warehouse}`` stands for the schema of the contract tables and
``{partition}`` for a month's partition of the list. Verbs: table verbs (SELECT, INSERT,
UPDATE, DELETE, TRUNCATE), DROP and ALTER (never grantable: owner only), EXECUTE on a
function, USAGE and CREATE on a schema, TEMPORARY on the database (PostgreSQL gives it to
PUBLIC; a session's private scratch tables reach nothing of the project's).

The scoring role never writes the list or the run metrics directly: it claims and publishes a
month and records its runs only through the owner's SECURITY DEFINER functions. The reader
reads the published lists, through the list table only: not the month being loaded, not the
fencing rows, not the run metrics.
"""

from __future__ import annotations

from dataclasses import dataclass

SCORING, READER = "scoring", "reader"
ROLES = (SCORING, READER)

#: object, verb, scoring, reader ("yes" allowed, "no" refused).
_TABLE = """
{warehouse}.clients                      SELECT    yes  no
{warehouse}.client_attributes            SELECT    yes  no
{warehouse}.marketing_contacts           SELECT    yes  no
{warehouse}.account_monthly              SELECT    yes  no
{warehouse}.payments                     SELECT    yes  no
{warehouse}.product_events               SELECT    yes  no
{warehouse}.digital_activity             SELECT    yes  no
{warehouse}.mart_client_month            SELECT    yes  no
{warehouse}.mart_counterparty_month      SELECT    yes  no
{warehouse}.mart_payment_text_month      SELECT    yes  no
{warehouse}.mart_months                  SELECT    yes  no
{warehouse}.mart_client_features         SELECT    yes  no
{warehouse}.mart_feature_months          SELECT    yes  no
{warehouse}.mart_source_values           SELECT    yes  no
{warehouse}.mart_client_features         INSERT    no   no
{warehouse}.mart_feature_months          DELETE    no   no
{warehouse}.mart_client_month            INSERT    no   no
{warehouse}.mart_months                  DELETE    no   no
{warehouse}.clients                      INSERT    no   no
{warehouse}.payments                     DELETE    no   no
{warehouse}.payments                     ALTER     no   no
{warehouse}.clients                      DROP      no   no
{warehouse}.synthetic_truth              SELECT    no   no
{warehouse}                              USAGE     yes  no
{warehouse}                              CREATE    no   no
mo_staging                               USAGE     yes  yes
mo_staging                               CREATE    no   no
mo_staging.rko_propensity                SELECT    yes  yes
mo_staging.rko_propensity                INSERT    no   no
mo_staging.rko_propensity                UPDATE    no   no
mo_staging.rko_propensity                DELETE    no   no
mo_staging.rko_propensity                TRUNCATE  no   no
mo_staging.rko_propensity                ALTER     no   no
mo_staging.rko_propensity                DROP      no   no
mo_staging.{partition}                   SELECT    no   no
mo_staging.{partition}                   INSERT    no   no
mo_staging.{partition}                   UPDATE    no   no
mo_staging.{partition}                   DELETE    no   no
mo_staging.{partition}                   TRUNCATE  no   no
mo_staging.{partition}                   DROP      no   no
mo_staging.rko_propensity_load           SELECT    no   no
mo_staging.rko_propensity_load           INSERT    no   no
mo_staging.rko_propensity_load           DROP      no   no
mo_staging.rko_publication               SELECT    yes  no
mo_staging.rko_publication               INSERT    no   no
mo_staging.rko_publication               UPDATE    no   no
mo_staging.rko_publication               DELETE    no   no
mo_staging.rko_publication               TRUNCATE  no   no
mo_staging.rko_month_claim               EXECUTE   yes  no
mo_staging.rko_propensity_prepare_load   EXECUTE   yes  no
mo_staging.rko_propensity_swap           EXECUTE   yes  no
rko_monitoring                           USAGE     yes  no
rko_monitoring                           CREATE    no   no
rko_monitoring.rko_run_metrics           SELECT    yes  no
rko_monitoring.rko_run_metrics           INSERT    no   no
rko_monitoring.rko_run_metrics           UPDATE    no   no
rko_monitoring.rko_run_metrics           DELETE    no   no
rko_monitoring.rko_run_metrics           TRUNCATE  no   no
rko_monitoring.rko_run_metrics           DROP      no   no
rko_monitoring.rko_realised_performance  SELECT    yes  no
rko_monitoring.rko_realised_performance  INSERT    no   no
rko_monitoring.rko_realised_performance  UPDATE    no   no
rko_monitoring.rko_realised_performance  DELETE    no   no
rko_monitoring.rko_realised_performance  TRUNCATE  no   no
rko_monitoring.rko_pilot_results         SELECT    yes  no
rko_monitoring.rko_pilot_results         INSERT    no   no
rko_monitoring.rko_pilot_results         UPDATE    no   no
rko_monitoring.rko_pilot_results         DELETE    no   no
rko_monitoring.rko_pilot_results         TRUNCATE  no   no
rko_monitoring.rko_record_run            EXECUTE   yes  no
rko_monitoring.rko_record_performance    EXECUTE   yes  no
rko_monitoring.rko_record_pilot_month    EXECUTE   yes  no
{database}                               TEMPORARY yes  yes
"""

TABLE_VERBS = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE")
#: Verbs GRANT can give; DROP and ALTER belong to the owner alone.
GRANTABLE = (*TABLE_VERBS, "EXECUTE", "USAGE", "CREATE", "TEMPORARY")
VERBS = (*GRANTABLE, "DROP", "ALTER")
#: Schemas whose objects the roles script manages: it revokes there whatever the table does not allow.
MANAGED_SCHEMAS = ("mo_staging", "rko_monitoring")


@dataclass(frozen=True)
class Cell:
    """One role's right to one verb on one object."""

    role: str
    object: str
    verb: str
    allowed: bool

    @property
    def kind(self) -> str:
        """table, function, schema or database: how the object is granted and probed."""
        if self.verb == "EXECUTE":
            return "function"
        if self.verb == "TEMPORARY":
            return "database"
        if self.verb in ("USAGE", "CREATE"):
            return "schema"
        return "table"


def _parse(table: str) -> tuple[Cell, ...]:
    cells = []
    for line in table.strip().splitlines():
        obj, verb, *answers = line.split()
        if verb not in VERBS or len(answers) != len(ROLES) or set(answers) - {"yes", "no"}:
            raise ValueError(f"privilege table: malformed row {line!r}")
        cells.extend(Cell(role, obj, verb, answer == "yes") for role, answer in zip(ROLES, answers, strict=True))
    return tuple(cells)


#: Every cell of the table, role by role.
PRIVILEGES = _parse(_TABLE)


def grants(warehouse_schema: str) -> list[dict[str, str]]:
    """The allowed, grantable cells as JSON-ready rows for the roles script (role keys, not names)."""
    rows = []
    for cell in PRIVILEGES:
        if not cell.allowed or cell.verb not in GRANTABLE or "{partition}" in cell.object:
            continue
        schema, _, name = cell.object.replace("{warehouse}", warehouse_schema).partition(".")
        rows.append({"role": cell.role, "kind": cell.kind, "verb": cell.verb, "schema": schema, "name": name})
    return rows


def markdown_table() -> str:
    """The table as Markdown, one row per object and verb, as docs/security.md shows it."""
    lines = ["| object | verb | scoring | reader |", "|---|---|---|---|"]
    by_row: dict[tuple[str, str], dict[str, bool]] = {}
    for cell in PRIVILEGES:
        by_row.setdefault((cell.object, cell.verb), {})[cell.role] = cell.allowed
    for (obj, verb), answers in by_row.items():
        marks = " | ".join("yes" if answers[role] else "no" for role in ROLES)
        lines.append(f"| `{obj}` | {verb} | {marks} |")
    return "\n".join(lines)
