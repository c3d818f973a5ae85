"""PostgreSQL roles of sql/roles: the optimizer reads mo_staging only; the scoring job publishes without DDL rights.

Roles are global to the server, so each test run names its own (a random prefix) and drops
them afterwards; everything else lives in the test database.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from rko_model.cli import main
from rko_model.settings import PROJECT_ROOT, Settings
from rko_model.stages.scoring import rank_scores
from rko_model.stages.snapshot import extract_snapshot
from rko_model.synth.generator import generate
from rko_model.warehouse import schema as warehouse_schema
from rko_model.warehouse.bank_writer import write_bank
from rko_model.warehouse.privileges import PRIVILEGES, READER, SCORING, Cell, markdown_table
from rko_model.warehouse.query import read_frame
from rko_model.warehouse.roles import RoleNames, set_up_roles
from rko_model.warehouse.staging import publish_month, read_published, read_runs, record_pilot_lines, record_run
from tests.conftest import POSTGRES_URL, TINY_BANK, need_postgres, new_warehouse

MONTH = dt.date(2026, 10, 31)
SQL_DIR = Settings.from_env({}).sql_dir
DENIED = "42501"  # insufficient_privilege, also "must be owner of ..."


@dataclass(frozen=True)
class Cluster:
    names: RoleNames
    scoring: Engine  # a LOGIN member of the scoring role, search_path on the warehouse schema
    reader: Engine  # a LOGIN member of the reader role
    warehouse_url: str


def _drop_outputs(admin: Engine) -> None:
    with admin.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA IF EXISTS mo_staging CASCADE")
        conn.exec_driver_sql("DROP SCHEMA IF EXISTS rko_monitoring CASCADE")


def _login_engine(user: str, schema: str) -> Engine:
    url = sa.engine.make_url(POSTGRES_URL).set(username=user, password=None)
    return sa.create_engine(url.update_query_dict({"options": f"-csearch_path={schema}"}))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    need_postgres()
    prefix = f"rkot_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(POSTGRES_URL)
    _drop_outputs(admin)
    engine, url, drop = new_warehouse("postgresql", tmp_path_factory.mktemp("roles"))
    write_bank(engine, generate(TINY_BANK))
    schema_tables = warehouse_schema.metadata
    schema_tables.create_all(engine, tables=list(warehouse_schema.MART_TABLES))  # empty marts: their cells
    with engine.connect() as conn:
        schema = conn.exec_driver_sql("SELECT current_schema()").scalar_one()
    names = RoleNames(f"{prefix}_owner", f"{prefix}_scoring", f"{prefix}_reader", schema)
    logins = {"scoring": f"{prefix}_job", "reader": f"{prefix}_optimizer"}
    try:
        set_up_roles(admin, SQL_DIR, names)
        with admin.begin() as conn:  # test-only DDL: names made above, not input
            conn.exec_driver_sql(f"CREATE ROLE {logins['scoring']} LOGIN IN ROLE {names.scoring_role}")
            conn.exec_driver_sql(f"CREATE ROLE {logins['reader']} LOGIN IN ROLE {names.reader_role}")
        cluster = Cluster(names, _login_engine(logins["scoring"], schema), _login_engine(logins["reader"], schema), url)
        yield cluster
        cluster.scoring.dispose()
        cluster.reader.dispose()
    finally:
        engine.dispose()
        drop()
        _drop_outputs(admin)
        with admin.begin() as conn:
            for role in (*logins.values(), names.scoring_role, names.reader_role, names.owner_role):
                if conn.exec_driver_sql(f"SELECT 1 FROM pg_roles WHERE rolname = '{role}'").first():
                    conn.exec_driver_sql(f"DROP OWNED BY {role} CASCADE")
                    conn.exec_driver_sql(f"DROP ROLE {role}")
        admin.dispose()


def _ranked(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return rank_scores(np.arange(n) + 1, rng.random(n), MONTH, "v1", f"run-{seed}")


def _denied(engine: Engine, sql: str) -> None:
    with pytest.raises(sa.exc.ProgrammingError) as caught, engine.begin() as conn:
        conn.exec_driver_sql(sql)
    assert caught.value.orig.pgcode == DENIED, (sql, caught.value)


def test_the_scoring_role_reads_the_warehouse_and_publishes_through_the_functions(cluster: Cluster) -> None:
    settings = replace(Settings.from_env({}), warehouse_url=cluster.warehouse_url)
    snapshot = extract_snapshot(cluster.scoring, MONTH, settings)  # temporary tables and the contract tables
    assert len(snapshot) > 50
    assert publish_month(cluster.scoring, _ranked(300, 1), MONTH, SQL_DIR) == 300
    assert publish_month(cluster.scoring, _ranked(200, 2), MONTH, SQL_DIR) == 200  # the month swapped again
    published = read_published(cluster.scoring, MONTH)
    assert len(published) == 200 and set(published["run_id"]) == {"run-2"}
    record_run(cluster.scoring, {"run_id": "r1", "report_date": MONTH, "status": "published"})
    record_run(cluster.scoring, {"run_id": "r1", "report_date": MONTH, "status": "published"})  # a retry
    assert read_runs(cluster.scoring)["run_id"].tolist() == ["r1"]


def test_the_scoring_role_records_the_pilot_measurement_through_its_function(cluster: Cluster) -> None:
    """The performance DAG's pilot task runs as the scoring role: a month's lines replaced, never written directly."""
    lines = [
        {"line": line, "eligible": 100, "contacted": c, "openings": 5, "verdict": "inconclusive", "increment": 0.01}
        for line, c in (("model", 30), ("control", 0))
    ]
    record_pilot_lines(cluster.scoring, MONTH, lines)
    record_pilot_lines(cluster.scoring, MONTH, lines[:1])  # a rerun replaces the month
    stored = read_frame(cluster.scoring, "SELECT line, report_date FROM rko_monitoring.rko_pilot_results", {})
    assert stored["line"].tolist() == ["model"] and str(stored["report_date"].iloc[0])[:10] == MONTH.isoformat()
    _denied(cluster.scoring, "DELETE FROM rko_monitoring.rko_pilot_results")


@pytest.mark.parametrize(
    "sql",
    [
        "DROP TABLE mo_staging.rko_propensity",
        "ALTER TABLE mo_staging.rko_propensity ADD COLUMN note text",
        "TRUNCATE mo_staging.rko_propensity",
        "DELETE FROM mo_staging.rko_propensity",
        "DROP TABLE mo_staging.rko_propensity_20261031",
        "ALTER TABLE mo_staging.rko_propensity DETACH PARTITION mo_staging.rko_propensity_20261031",
        "CREATE TABLE mo_staging.scratch (x int)",
        "CREATE OR REPLACE FUNCTION mo_staging.rko_propensity_swap(p date) RETURNS bigint LANGUAGE sql AS 'SELECT 0'",
        "TRUNCATE rko_monitoring.rko_run_metrics",
        "DROP TABLE rko_monitoring.rko_run_metrics",
        # the attacks of issue 12: a rank-0 row added to a published month, run metrics rewritten or erased
        "INSERT INTO mo_staging.rko_propensity VALUES ('2026-10-31', 1, 0.99, 0, 1, 'v1', 'x', now())",
        "INSERT INTO mo_staging.rko_propensity_20261031 VALUES ('2026-10-31', 1, 0.99, 0, 1, 'v1', 'x', now())",
        "UPDATE mo_staging.rko_propensity SET rank = 0",
        "UPDATE rko_monitoring.rko_run_metrics SET status = 'failed'",
        "DELETE FROM rko_monitoring.rko_run_metrics",
        "INSERT INTO rko_monitoring.rko_run_metrics (run_id, report_date, status, recorded_at) "
        "VALUES ('fake', '2026-10-31', 'published', now())",
        "UPDATE mo_staging.rko_publication SET generation = 0",
        "DROP TABLE clients",
        "ALTER TABLE payments ADD COLUMN note text",
        "INSERT INTO clients (client_id, inn, registration_date, segment) VALUES (-1, '0', '2020-01-01', 'SMB')",
        "DELETE FROM payments",
        "CREATE TABLE scratch (x int)",
        "SELECT * FROM synthetic_truth",
    ],
)
def test_the_scoring_role_cannot_change_what_it_does_not_own(cluster: Cluster, sql: str) -> None:
    publish_month(cluster.scoring, _ranked(50, 3), MONTH, SQL_DIR)  # the partition exists
    _denied(cluster.scoring, sql)


def test_the_reader_reads_the_ranked_lists_only(cluster: Cluster) -> None:
    publish_month(cluster.scoring, _ranked(120, 4), MONTH, SQL_DIR)
    published = read_published(cluster.reader, MONTH)
    assert len(published) == 120 and published["rank"].tolist() == list(range(1, 121))
    warehouse = cluster.names.warehouse_schema  # qualified: without USAGE the search_path skips the schema
    for sql in (
        f"SELECT * FROM {warehouse}.clients",
        f"SELECT * FROM {warehouse}.payments",
        "SELECT * FROM rko_monitoring.rko_run_metrics",
        "INSERT INTO mo_staging.rko_propensity SELECT * FROM mo_staging.rko_propensity",
        "DELETE FROM mo_staging.rko_propensity",
        "UPDATE mo_staging.rko_propensity SET score = 0",
        "TRUNCATE mo_staging.rko_propensity",
        "SELECT mo_staging.rko_propensity_swap(DATE '2026-10-31', 'x', 1, NULL)",
        "CREATE TABLE mo_staging.scratch (x int)",
    ):
        _denied(cluster.reader, sql)


def test_setting_up_again_changes_nothing(cluster: Cluster, capsys: pytest.CaptureFixture[str]) -> None:
    names = cluster.names
    options = ["--owner", names.owner_role, "--scoring", names.scoring_role, "--reader", names.reader_role]
    argv = ["roles", "--url", POSTGRES_URL, "--warehouse-schema", names.warehouse_schema, *options]
    assert main(argv) == 0 and main(argv) == 0  # `rko roles`, twice
    assert f"scoring {names.scoring_role} (reads schema {names.warehouse_schema})" in capsys.readouterr().out
    assert publish_month(cluster.scoring, _ranked(70, 5), MONTH, SQL_DIR) == 70
    assert len(read_published(cluster.reader, MONTH)) == 70


def test_login_roles_are_members_only(cluster: Cluster) -> None:
    """The three roles cannot log in themselves; logins get their rights by membership."""
    with cluster.reader.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname IN "
            f"('{cluster.names.owner_role}', '{cluster.names.scoring_role}', '{cluster.names.reader_role}')"
        ).all()
    assert len(rows) == 3 and not any(login for _, login in rows)


# --- the privilege table, cell by cell --------------------------------------------------------------------------


def _probe(cell: Cell, obj: str, admin: Engine) -> str:
    """A real statement exercising ``cell``'s verb on ``obj`` (run in a transaction that is rolled back)."""
    if cell.kind == "function":
        schema, name = obj.split(".")
        with admin.connect() as conn:
            types = conn.execute(
                sa.text(
                    "SELECT oidvectortypes(p.proargtypes) FROM pg_proc AS p "
                    "JOIN pg_namespace AS n ON n.oid = p.pronamespace WHERE n.nspname = :s AND p.proname = :n"
                ),
                {"s": schema, "n": name},
            ).scalar_one()
        nulls = ", ".join(f"NULL::{t}" for t in types.split(", ")) if types else ""
        return f"SELECT {obj}({nulls})"
    if cell.verb == "TEMPORARY":
        return "CREATE TEMPORARY TABLE rko_probe (x int)"
    if cell.verb == "USAGE":
        return f"SELECT NULL::{_a_type(obj)}"
    if cell.verb == "CREATE":
        return f"CREATE TABLE {obj}.rko_probe (x int)"
    return {
        "SELECT": f"SELECT count(*) FROM {obj}",
        "INSERT": f"INSERT INTO {obj} DEFAULT VALUES",
        "UPDATE": f"UPDATE {obj} SET {_a_column(obj, admin)} = NULL WHERE false",
        "DELETE": f"DELETE FROM {obj}",
        "TRUNCATE": f"TRUNCATE {obj}",
        "DROP": f"DROP TABLE {obj}",
        "ALTER": f"ALTER TABLE {obj} ADD COLUMN rko_probe int",
    }[cell.verb]


def _a_type(schema: str) -> str:
    """A row type in ``schema``: naming it needs USAGE on the schema."""
    return {"mo_staging": "mo_staging.rko_propensity", "rko_monitoring": "rko_monitoring.rko_run_metrics"}.get(
        schema, f"{schema}.clients"
    )


def _a_column(obj: str, admin: Engine) -> str:
    schema, name = obj.split(".")
    with admin.connect() as conn:
        return conn.execute(
            sa.text(
                "SELECT a.attname FROM pg_attribute AS a WHERE a.attrelid = to_regclass(:t) AND a.attnum > 1 "
                "AND NOT a.attisdropped ORDER BY a.attnum LIMIT 1"
            ),
            {"t": f"{schema}.{name}"},
        ).scalar_one()


@pytest.mark.parametrize(
    "cell", PRIVILEGES, ids=[f"{c.role}-{c.verb}-{c.object.replace('{', '').replace('}', '')}" for c in PRIVILEGES]
)
def test_every_cell_of_the_privilege_table_holds_for_real(cluster: Cluster, cell: Cell) -> None:
    """Log in as the role and try the verb: allowed cells work, refused ones fail with insufficient_privilege."""
    publish_month(cluster.scoring, _ranked(40, 7), MONTH, SQL_DIR)  # the month's partition exists
    admin = sa.create_engine(POSTGRES_URL)
    obj = cell.object.format(
        warehouse=cluster.names.warehouse_schema, partition=f"rko_propensity_{MONTH:%Y%m%d}", database=""
    )
    if cell.object == "mo_staging.rko_propensity_load":
        with admin.begin() as conn:  # a load table left by a publish (as after a crash before the swap)
            conn.exec_driver_sql(
                "CREATE TABLE IF NOT EXISTS mo_staging.rko_propensity_load (LIKE mo_staging.rko_propensity)"
            )
    sql = _probe(cell, obj, admin)
    engine = cluster.scoring if cell.role == SCORING else cluster.reader
    try:
        with engine.connect() as conn:
            transaction = conn.begin()
            try:
                conn.exec_driver_sql(sql)
                outcome = None
            except sa.exc.DBAPIError as exc:
                outcome = exc.orig.pgcode
            finally:
                transaction.rollback()
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS mo_staging.rko_propensity_load")
        admin.dispose()
    if cell.allowed:
        assert outcome != DENIED, f"{cell.role} should be allowed: {sql}"
    else:
        assert outcome == DENIED, f"{cell.role} should be refused ({outcome}): {sql}"


def test_the_privilege_table_is_the_one_in_docs() -> None:
    doc = (PROJECT_ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    assert markdown_table() in doc, "docs/security.md: paste rko_model.warehouse.privileges.markdown_table()"


def test_the_scoring_role_writes_nothing_directly() -> None:
    for cell in PRIVILEGES:
        if cell.allowed and cell.verb in ("INSERT", "UPDATE", "DELETE", "TRUNCATE", "DROP", "ALTER", "CREATE"):
            raise AssertionError(f"{cell.role} may {cell.verb} {cell.object}: writes go through the functions")
    readers = {c.object for c in PRIVILEGES if c.role == READER and c.allowed}
    assert readers == {"mo_staging", "mo_staging.rko_propensity", "{database}"}
