"""The marketing optimizer's staging table, the monitoring tables, and how a month is published.

``mo_staging.rko_propensity`` holds one ranked list per report date; a month is replaced in
one transaction, so a rerun or backfill leaves exactly one copy and the optimizer never reads a
half-written month. On PostgreSQL the table is list-partitioned by report date: the new list is
COPied into a bare load table, which then replaces the month's partition (drop, rename, attach),
so publishing costs one COPY whatever the table holds. On SQLite the month is deleted and inserted.
``rko_monitoring.rko_run_metrics`` holds one row per scoring run, ``rko_monitoring.rko_realised_performance``
one row per evaluated month. On PostgreSQL both are schemas; on SQLite each is a file ATTACHed
under the schema's name, so every statement uses the same qualified names.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    inspect,
    text,
)
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.schema import CreateSchema

from rko_model import columns as col
from rko_model.errors import MonthBusyError, WarehouseError
from rko_model.warehouse.bulk import bulk_insert
from rko_model.warehouse.engine import make_engine, sqlite_begin, sqlite_connect
from rko_model.warehouse.list_columns import PILOT_COLUMN_NAMES, add_missing_columns, pilot_columns
from rko_model.warehouse.query import dbapi_errors, execute, execute_scalar, read_frame
from rko_model.warehouse.sqlfiles import load_sql

log = logging.getLogger(__name__)

STAGING_SCHEMA = "mo_staging"
MONITORING_SCHEMA = "rko_monitoring"

metadata = MetaData()

#: No primary key on purpose: maintaining a B-tree on every load halves COPY's speed. Months are
#: replaced whole and a list is checked for duplicate clients before it is written; the
#: optimizer reads by month, which partition pruning serves on PostgreSQL and an index on SQLite.
rko_propensity = Table(
    "rko_propensity",
    metadata,
    Column("report_date", Date, nullable=False),
    Column("client_id", BigInteger, nullable=False),
    Column("score", Float, nullable=False, comment="probability of opening RKO within 3 months"),
    Column("rank", Integer, nullable=False, comment="1 = most likely"),
    Column("decile", Integer, nullable=False, comment="1 = top 10%"),
    Column("model_version", String(64), nullable=False),
    Column("run_id", String(250), nullable=False),
    Column("loaded_at", DateTime, nullable=False),
    *pilot_columns(),  # version 2, appended: see rko_model/warehouse/list_columns.py
    Index("ix_rko_propensity_report_date", "report_date").ddl_if(dialect="sqlite"),
    schema=STAGING_SCHEMA,
    postgresql_partition_by="LIST (report_date)",
)

#: The bare table a month is COPied into before it becomes that month's partition (PostgreSQL);
#: its other columns are constant for the month and filled by column defaults.
_LOAD_COLUMNS = ("client_id", "score", "rank", "decile", *PILOT_COLUMN_NAMES)
_load_table = Table(
    "rko_propensity_load",
    MetaData(),
    *(Column(c.name, c.type, nullable=c.nullable) for c in rko_propensity.columns if c.name in _LOAD_COLUMNS),
    schema=STAGING_SCHEMA,
)
#: Serialises publishing on PostgreSQL: the load table and the swap functions are shared.
PUBLISH_LOCK_KEY = 720_451_001
#: Namespace of the per-month run locks (the month is the second key, as YYYYMMDD).
MONTH_LOCK_NAMESPACE = 720_451

run_metrics = Table(
    "rko_run_metrics",
    metadata,
    Column("run_id", String(250), primary_key=True),
    Column("report_date", Date, nullable=False),
    Column("model_version", String(64)),
    Column("status", String(32), nullable=False, comment="published, failed_validation, ..."),
    Column("rows_snapshot", Integer),
    Column("rows_scored", Integer),
    Column("rows_published", Integer),
    Column("validation_success", Integer),
    Column("validation_critical", Integer),
    Column("validation_warnings", Integer),
    Column("score_mean", Float),
    Column("score_p50", Float),
    Column("score_p90", Float),
    Column("score_psi", Float),
    Column("feature_psi_max", Float),
    Column("details", Text, comment="JSON: step durations, per-feature PSI, score histogram, file paths"),
    Column("recorded_at", DateTime, nullable=False),
    schema=MONITORING_SCHEMA,
)

#: One row per scored month whose 3-month window has closed: what the list really achieved.
realised_performance = Table(
    "rko_realised_performance",
    metadata,
    Column("report_date", Date, primary_key=True, comment="the scored month; its window closed 3 months later"),
    Column("model_version", String(64)),
    Column("run_id", String(250), comment="the scoring run whose list was evaluated"),
    Column("rows", Integer, nullable=False, comment="listed clients with a known outcome"),
    Column("rows_unlabelled", Integer, nullable=False, comment="listed clients no longer eligible at the report date"),
    Column("positives", Integer, nullable=False, comment="listed clients who opened RKO in the window"),
    Column("base_rate", Float),
    Column("gini", Float),
    Column("lift_top_decile", Float),
    Column("conversion_top10", Float),
    Column("score_psi", Float, comment="of the evaluated run, from rko_run_metrics"),
    Column("status", String(32), nullable=False, comment="ok, warning or alert"),
    Column("message", Text),
    Column("evaluated_at", DateTime, nullable=False),
    schema=MONITORING_SCHEMA,
)


def sqlite_schema_files(url: str) -> dict[str, Path]:
    """The files behind the schemas for an SQLite staging URL: the URL's file and one beside it."""
    path = Path(make_url(url).database or "mo_staging.db")
    return {STAGING_SCHEMA: path, MONITORING_SCHEMA: path.with_name(f"{MONITORING_SCHEMA}.db")}


def make_staging_engine(url: str) -> Engine:
    """An engine on which ``mo_staging.*`` and ``rko_monitoring.*`` resolve, on either dialect."""
    if make_url(url).get_backend_name() != "sqlite":
        return make_engine(url)
    files = sqlite_schema_files(url)
    for path in files.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine("sqlite://")

    def attach(dbapi_connection, record) -> None:  # type: ignore[no-untyped-def]
        sqlite_connect(dbapi_connection, record)
        cursor = dbapi_connection.cursor()
        for schema, path in files.items():
            cursor.execute(f"ATTACH DATABASE ? AS {schema}", (str(path),))
            cursor.execute(f"PRAGMA {schema}.journal_mode=WAL")
        cursor.close()

    event.listen(engine, "connect", attach)
    event.listen(engine, "begin", sqlite_begin)
    return engine


def ensure_tables(conn: Connection) -> None:
    """Create the schemas (PostgreSQL) and tables if missing, in the caller's transaction.

    A schema is created only when absent: ``CREATE SCHEMA IF NOT EXISTS`` needs the right to
    create schemas even when there is nothing to do, which the scoring role does not have
    (see ``sql/roles/roles.postgresql.sql``).
    """
    if conn.dialect.name == "postgresql":
        existing = set(inspect(conn).get_schema_names())
        for schema in (STAGING_SCHEMA, MONITORING_SCHEMA):
            if schema not in existing:
                conn.execute(CreateSchema(schema))
    metadata.create_all(conn, checkfirst=True)
    add_missing_columns(conn, rko_propensity)


def publish_month(engine: Engine, ranked: pd.DataFrame, report_date: dt.date, sql_dir: Path) -> int:
    """Replace ``report_date``'s list with ``ranked`` in one transaction; returns the rows published."""
    if (ranked[col.REPORT_DATE] != pd.Timestamp(report_date)).any():
        raise ValueError(f"the list holds rows of another month than {report_date}")
    duplicated = ranked[col.CLIENT_ID].duplicated()
    if duplicated.any():
        raise ValueError(
            f"the list of {report_date} holds {int(duplicated.sum())} duplicated clients; nothing published"
        )
    rows = ranked.assign(loaded_at=pd.Timestamp(dt.datetime.now(dt.UTC).replace(tzinfo=None)).floor("s"))
    rows = rows.assign(**{c: None for c in PILOT_COLUMN_NAMES if c not in rows.columns})
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                removed, published = _swap_partition(conn, rows, report_date, sql_dir)
            else:
                ensure_tables(conn)
                removed = execute(
                    conn,
                    "DELETE FROM mo_staging.rko_propensity WHERE report_date = :report_date",
                    {"report_date": report_date},
                )
                published = bulk_insert(conn, rko_propensity, rows)
    except (SQLAlchemyError, *dbapi_errors(engine)) as exc:
        raise WarehouseError(
            f"publishing {report_date} failed and was rolled back; the earlier list stays: {exc}"
        ) from exc
    log.info("published %s: %d rows (replaced %d)", report_date, published, max(removed, 0))
    return published


@contextmanager
def hold_month(engine: Engine, report_date: dt.date, run_id: str) -> Iterator[None]:
    """Hold ``report_date`` for one run: a second run of the month fails at once instead of interleaving.

    On PostgreSQL a session advisory lock on a connection of its own, released when the run
    ends or its process dies. SQLite is the single-user embedded mode: its writes are
    serialised by the database file's lock, and no month lock is taken.
    """
    if engine.dialect.name != "postgresql":
        yield
        return
    key = {"namespace": MONTH_LOCK_NAMESPACE, "month": int(report_date.strftime("%Y%m%d"))}
    with engine.connect() as conn:
        held = conn.execute(text("SELECT pg_try_advisory_lock(:namespace, :month)"), key).scalar_one()
        conn.commit()
        if not held:
            raise MonthBusyError(
                f"another run is scoring {report_date} right now; run {run_id} did not start (rerun it when that ends)"
            )
        log.info("run %s holds %s", run_id, report_date)
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:namespace, :month)"), key)
            conn.commit()


def _swap_partition(conn: Connection, rows: pd.DataFrame, report_date: dt.date, sql_dir: Path) -> tuple[int, int]:
    """COPY the month into the load table and swap it in as the month's partition (PostgreSQL)."""
    execute(conn, "SELECT pg_advisory_xact_lock(:key)", {"key": PUBLISH_LOCK_KEY})
    ensure_tables(conn)
    install_publish_functions(conn, sql_dir)
    constants = {}
    for name in ("model_version", "run_id", "loaded_at"):
        values = rows[name].unique()
        if len(values) != 1:
            raise ValueError(f"the list of {report_date} holds {len(values)} values of {name}; expected one")
        constants[name] = values[0].to_pydatetime() if name == "loaded_at" else str(values[0])
    execute(
        conn,
        "SELECT mo_staging.rko_propensity_prepare_load(:report_date, :model_version, :run_id, :loaded_at)",
        {"report_date": report_date, **constants},
    )
    published = bulk_insert(conn, _load_table, rows)
    removed = conn.execute(
        text("SELECT mo_staging.rko_propensity_swap(:report_date)"), {"report_date": report_date}
    ).scalar_one()
    return int(removed), published


#: The functions that swap a month's partition, owned by the staging tables' owner.
PUBLISH_FUNCTIONS = ("rko_propensity_prepare_load", "rko_propensity_swap")


def install_publish_functions(conn: Connection, sql_dir: Path) -> None:
    """(Re)create the partition-swap functions, unless another role owns them (PostgreSQL).

    Where the roles of ``sql/roles/roles.postgresql.sql`` are set up, the owner role owns the
    functions and the scoring role may only execute them: it leaves them as they are. Any
    role that can act as their owner (the owner, a superuser) replaces them with this
    version's, so an upgrade reaches them on the next publish.
    """
    foreign = execute_scalar(
        conn,
        "SELECT COUNT(*) FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace "
        "WHERE n.nspname = :schema AND p.proname IN :names AND NOT pg_has_role(p.proowner, 'USAGE')",
        {"schema": STAGING_SCHEMA, "names": list(PUBLISH_FUNCTIONS)},
    )
    if foreign:
        return
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:  # no parameters: the driver must not read format()'s %I and %L as placeholders
        cursor.execute(load_sql(sql_dir, "staging/publish_functions", "postgresql"))
    finally:
        cursor.close()


_READ_PUBLISHED = (
    "SELECT p.report_date, p.client_id, p.score, p.rank, p.decile, p.model_version, p.run_id "
    "FROM mo_staging.rko_propensity AS p "
)
_READ_MONTH = _READ_PUBLISHED + "WHERE p.report_date = :report_date ORDER BY p.report_date, p.rank"
_READ_ALL = _READ_PUBLISHED + "ORDER BY p.report_date, p.rank"


def read_published(engine: Engine, report_date: dt.date | None = None) -> pd.DataFrame:
    """The published list of ``report_date`` (every month when None), best rank first."""
    sql = _READ_MONTH if report_date else _READ_ALL
    kinds = {
        "report_date": "date",
        "client_id": "int",
        "score": "float",
        "rank": "int",
        "decile": "int",
        "model_version": "str",
        "run_id": "str",
    }
    return read_frame(engine, sql, {"report_date": report_date} if report_date else {}, kinds)  # type: ignore[arg-type]


def record_run(engine: Engine, row: dict[str, object]) -> None:
    """Write one run's metrics, replacing an earlier row of the same run id (a retried task)."""
    values = {c.name: row.get(c.name) for c in run_metrics.columns}
    values["report_date"] = pd.Timestamp(values["report_date"]).date()  # type: ignore[arg-type]
    values["recorded_at"] = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    _replace_row(engine, run_metrics, "run_id", values)


def read_runs(engine: Engine) -> pd.DataFrame:
    """Every recorded run, oldest first; empty before the first run."""
    with engine.begin() as conn:
        ensure_tables(conn)
    kinds = {"report_date": "date", "rows_snapshot": "float", "validation_success": "float", "status": "str"}
    return read_frame(engine, "SELECT * FROM rko_monitoring.rko_run_metrics ORDER BY recorded_at, run_id", {}, kinds)  # type: ignore[arg-type]


def record_performance(engine: Engine, row: dict[str, object]) -> None:
    """Write a month's realised performance, replacing an earlier evaluation of the same month."""
    values = {c.name: row.get(c.name) for c in realised_performance.columns}
    values["report_date"] = pd.Timestamp(values["report_date"]).date()  # type: ignore[arg-type]
    values["evaluated_at"] = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    _replace_row(engine, realised_performance, "report_date", values)


def _replace_row(engine: Engine, table: Table, key: str, values: dict[str, object]) -> None:
    """Delete the row whose ``key`` matches and insert ``values``, in one transaction: a rerun leaves one row."""
    with engine.begin() as conn:
        ensure_tables(conn)
        conn.execute(table.delete().where(table.c[key] == values[key]))
        conn.execute(table.insert(), [values])


def read_performance(engine: Engine) -> pd.DataFrame:
    """Every evaluated month, oldest first; empty before the first evaluation."""
    with engine.begin() as conn:
        ensure_tables(conn)
    kinds = {
        "report_date": "date",
        "model_version": "str",
        "run_id": "str",
        "rows": "int",
        "rows_unlabelled": "int",
        "positives": "int",
        "base_rate": "float",
        "gini": "float",
        "lift_top_decile": "float",
        "conversion_top10": "float",
        "score_psi": "float",
        "status": "str",
        "message": "str",
    }
    sql = "SELECT * FROM rko_monitoring.rko_realised_performance ORDER BY report_date"
    return read_frame(engine, sql, {}, kinds)  # type: ignore[arg-type]


def read_run(engine: Engine, report_date: dt.date, run_id: str | None) -> pd.DataFrame:
    """The metrics of ``run_id``, or else the latest published run of ``report_date``: at most one row."""
    with engine.begin() as conn:
        ensure_tables(conn)
    kinds = {"report_date": "date", "score_psi": "float", "run_id": "str", "status": "str"}
    by_id = read_frame(
        engine, "SELECT * FROM rko_monitoring.rko_run_metrics WHERE run_id = :run_id", {"run_id": run_id or ""}, kinds
    )  # type: ignore[arg-type]
    if not by_id.empty:
        return by_id
    sql = (
        "SELECT * FROM rko_monitoring.rko_run_metrics WHERE report_date = :report_date AND status = :status "
        "ORDER BY recorded_at DESC, run_id DESC"
    )
    latest = read_frame(engine, sql, {"report_date": report_date, "status": "published"}, kinds)  # type: ignore[arg-type]
    return latest.head(1)
