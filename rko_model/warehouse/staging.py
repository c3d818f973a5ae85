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
import fcntl
import hashlib
import json
import logging
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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
    bindparam,
    create_engine,
    event,
    inspect,
    text,
)
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.schema import CreateSchema

from rko_model import columns as col
from rko_model.errors import InvalidInputError, MonthBusyError, WarehouseError
from rko_model.warehouse.bulk import bulk_insert
from rko_model.warehouse.engine import make_engine, sqlite_begin, sqlite_connect
from rko_model.warehouse.list_columns import PILOT_COLUMN_NAMES, add_missing_columns, pilot_columns
from rko_model.warehouse.query import dbapi_errors, execute, execute_scalar, read_frame
from rko_model.warehouse.sqlfiles import load_sql

#: The SQL files of this checkout: the publishing functions where no settings are at hand.
DEFAULT_SQL_DIR = Path(__file__).resolve().parent.parent.parent / "sql"

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

#: Columns of the list that are constant for a month (one month, model, run and load time); the
#: others are per client. Adding a column to ``rko_propensity`` is all a new column needs: the
#: load table, the COPY and :func:`read_published` follow the table.
CONSTANT_COLUMNS = ("report_date", "model_version", "run_id", "loaded_at")
#: The bare table a month is COPied into before it becomes that month's partition (PostgreSQL);
#: its constant columns are filled by column defaults.
_LOAD_COLUMNS = tuple(c.name for c in rko_propensity.columns if c.name not in CONSTANT_COLUMNS)
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
#: Namespace of the per-month transaction locks taken inside a publishing transaction.
MONTH_PUBLISH_NAMESPACE = 720_452
#: SQLSTATEs raised by the publishing functions: a stale fencing token, a run id of another month.
FENCED_SQLSTATE, RUN_ID_TAKEN_SQLSTATE = "RKF01", "RKR01"

#: Per month, the generation (the fencing number) advanced by every claim of the month and every publish.
rko_publication = Table(
    "rko_publication",
    metadata,
    Column("report_date", Date, primary_key=True),
    Column("generation", BigInteger, nullable=False, comment="the fencing number, +1 per claim and per publish"),
    Column("claimed_by", String(250), comment="the run that claimed the month last"),
    Column("claimed_at", DateTime),
    Column("published_run_id", String(250), comment="the run whose list is the month's published list"),
    Column("published_at", DateTime),
    schema=STAGING_SCHEMA,
)

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


#: The pilot's measurement: one row per list month and line (an arm or a comparison), see rko_model.pilot.
pilot_results = Table(
    "rko_pilot_results",
    metadata,
    Column("report_date", Date, primary_key=True, comment="the list's month; its window closed 3 months later"),
    Column("line", String(32), primary_key=True, comment="model, rules, control, model_vs_rules, ..."),
    Column("eligible", Integer, nullable=False),
    Column("contacted", Integer, nullable=False),
    Column("openings", Integer, nullable=False),
    Column("conversion", Float),
    Column("contacted_openings", Integer),
    Column("contacted_conversion", Float),
    Column("matched_control", Integer, comment="control rows of the same ranks as the contacted rows"),
    Column("matched_control_openings", Integer),
    Column("matched_control_conversion", Float),
    Column("increment", Float, comment="incremental 3-month conversion of the contacted rows"),
    Column("ci_low", Float, comment="95% interval"),
    Column("ci_high", Float),
    Column("verdict", String(16), nullable=False, comment="positive, negative or inconclusive (interval holds 0)"),
    Column("contact_cost", Float),
    Column("cost_per_incremental_opening", Float),
    Column("conversion_uplift", Float),
    Column("cost_saving", Float),
    Column("mde", Float, comment="minimum detectable increment, 80% power"),
    Column("months_needed", Float, comment="months of this volume to detect the target increment"),
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


@dataclass(frozen=True)
class MonthHold:
    """A run's hold on a month: the fencing token it must still own when it publishes."""

    report_date: dt.date
    run_id: str
    token: int


def publish_month(
    engine: Engine,
    ranked: pd.DataFrame,
    report_date: dt.date,
    sql_dir: Path,
    *,
    hold: MonthHold | None = None,
    run_row: dict[str, object] | None = None,
) -> int:
    """Replace ``report_date``'s list with ``ranked`` in one transaction; returns the rows published.

    Fenced: the transaction publishes only while ``hold``'s token is still the month's
    generation, and advances it; a run whose hold was lost and claimed by another run gets
    :class:`MonthBusyError` and publishes nothing. Without ``hold`` the month is claimed and
    published in the one transaction. ``run_row``, the run's metrics, is written in the same
    transaction, so the list never goes out without its run being recorded as published.
    """
    if (ranked[col.REPORT_DATE] != pd.Timestamp(report_date)).any():
        raise ValueError(f"the list holds rows of another month than {report_date}")
    duplicated = ranked[col.CLIENT_ID].duplicated()
    if duplicated.any():
        raise ValueError(
            f"the list of {report_date} holds {int(duplicated.sum())} duplicated clients; nothing published"
        )
    rows = ranked.assign(loaded_at=pd.Timestamp(dt.datetime.now(dt.UTC).replace(tzinfo=None)).floor("s"))
    run_ids = rows["run_id"].unique()
    run_id = str(run_ids[0]) if len(run_ids) == 1 else (hold.run_id if hold else "?")
    rows = rows.assign(**{c: None for c in PILOT_COLUMN_NAMES if c not in rows.columns})
    try:
        with engine.begin() as conn:
            ensure_tables(conn)
            if conn.dialect.name == "postgresql":
                execute(conn, "SELECT pg_advisory_xact_lock(:key)", {"key": PUBLISH_LOCK_KEY})
                execute(conn, "SELECT pg_advisory_xact_lock(:namespace, :month)", _month_key(report_date, publish=True))
                ensure_functions(conn, sql_dir)
            fence = hold.token if hold else claim_month(conn, report_date, run_id)
            if conn.dialect.name == "postgresql":
                removed, published = _swap_partition(conn, rows, report_date, run_id, fence)
            else:
                _advance_generation(conn, report_date, run_id, fence)
                removed = execute(
                    conn,
                    "DELETE FROM mo_staging.rko_propensity WHERE report_date = :report_date",
                    {"report_date": report_date},
                )
                published = bulk_insert(conn, rko_propensity, rows)
            if run_row is not None:
                write_run_row(conn, run_row)
    except (SQLAlchemyError, *dbapi_errors(engine)) as exc:
        raise _publish_error(exc, report_date, run_id) from exc
    log.info("published %s: %d rows (replaced %d)", report_date, published, max(removed, 0))
    return published


def _publish_error(exc: BaseException, report_date: dt.date, run_id: str) -> Exception:
    code = _sqlstate(exc)
    if code == FENCED_SQLSTATE:
        return MonthBusyError(_first_line(exc), transient=False)
    if code == RUN_ID_TAKEN_SQLSTATE:
        return InvalidInputError(_first_line(exc))
    return WarehouseError(f"publishing {report_date} failed and was rolled back; the earlier list stays: {exc}")


def _sqlstate(exc: BaseException) -> str | None:
    original = exc.orig if isinstance(exc, DBAPIError) else exc
    return getattr(original, "pgcode", None)


def _first_line(exc: BaseException) -> str:
    original = exc.orig if isinstance(exc, DBAPIError) else exc
    return str(original).strip().splitlines()[0]


def _month_key(report_date: dt.date, *, publish: bool = False) -> dict[str, int]:
    namespace = MONTH_PUBLISH_NAMESPACE if publish else MONTH_LOCK_NAMESPACE
    return {"namespace": namespace, "month": int(report_date.strftime("%Y%m%d"))}


def claim_month(conn: Connection, report_date: dt.date, run_id: str) -> int:
    """Advance the month's generation in the caller's transaction; the new value is the run's fencing token."""
    if conn.dialect.name == "postgresql":
        return int(
            conn.execute(
                text("SELECT mo_staging.rko_month_claim(:report_date, :run_id, :claimed_at)"),
                {"report_date": report_date, "run_id": run_id, "claimed_at": _now()},
            ).scalar_one()
        )
    table = rko_publication
    conn.execute(sqlite_insert(table).values(report_date=report_date, generation=0).on_conflict_do_nothing())
    conn.execute(
        table.update()
        .where(table.c.report_date == report_date)
        .values(generation=table.c.generation + 1, claimed_by=run_id, claimed_at=_now())
    )
    return int(conn.execute(table.select().where(table.c.report_date == report_date)).one().generation)


def _advance_generation(conn: Connection, report_date: dt.date, run_id: str, token: int) -> None:
    """Compare the month's generation with ``token`` and advance it, or refuse (SQLite; PostgreSQL's swap does it)."""
    table = rko_publication
    changed = conn.execute(
        table.update()
        .where(table.c.report_date == report_date, table.c.generation == token)
        .values(generation=token + 1, published_run_id=run_id, published_at=_now())
    ).rowcount
    if changed != 1:
        holder = conn.execute(table.select().where(table.c.report_date == report_date)).first()
        claimer, generation = (holder.claimed_by, holder.generation) if holder else ("?", "none")
        raise MonthBusyError(
            f"run {run_id} lost its hold on {report_date}: run {claimer} claimed the month since "
            f"(fencing token {token}, the month is at {generation}); nothing was published",
            transient=False,
        )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


@contextmanager
def hold_month(engine: Engine, report_date: dt.date, run_id: str) -> Iterator[MonthHold]:
    """Hold ``report_date`` for one run: a second run of the month fails at once instead of interleaving.

    The hold is a lock that goes with the run's process (a PostgreSQL session advisory lock on
    a connection of its own; on SQLite an exclusive ``flock`` on a file beside the staging
    database) plus a fencing token claimed under it. Should the lock be lost while the run goes
    on (its connection killed, its lock file removed), a second run can claim the month, and
    the first one's publish is refused by its stale fencing number: it never publishes inside another's window.
    """
    if engine.dialect.name != "postgresql":
        with _sqlite_month_lock(engine, report_date, run_id):
            yield _claim(engine, report_date, run_id)
        return
    key = _month_key(report_date)
    with engine.connect() as conn:
        held = conn.execute(text("SELECT pg_try_advisory_lock(:namespace, :month)"), key).scalar_one()
        conn.commit()
        if not held:
            raise _busy(report_date, run_id)
        try:
            hold = _claim(engine, report_date, run_id)
            log.info("run %s holds %s (fencing token %d)", run_id, report_date, hold.token)
            yield hold
        finally:
            try:
                conn.execute(text("SELECT pg_advisory_unlock(:namespace, :month)"), key)
                conn.commit()
            except (SQLAlchemyError, *dbapi_errors(engine)) as exc:
                lost = _first_line(exc)
                log.warning("run %s: the lock on %s went with its connection: %s", run_id, report_date, lost)


def _busy(report_date: dt.date, run_id: str) -> MonthBusyError:
    return MonthBusyError(
        f"another run is scoring {report_date} right now; run {run_id} did not start (rerun it when that ends)"
    )


def _claim(engine: Engine, report_date: dt.date, run_id: str) -> MonthHold:
    try:
        with engine.begin() as conn:
            ensure_tables(conn)
            ensure_functions(conn)
            if conn.dialect.name == "postgresql":
                execute(conn, "SELECT pg_advisory_xact_lock(:namespace, :month)", _month_key(report_date, publish=True))
            return MonthHold(report_date, run_id, claim_month(conn, report_date, run_id))
    except (SQLAlchemyError, *dbapi_errors(engine)) as exc:
        raise WarehouseError(f"claiming {report_date} for run {run_id} failed: {exc}") from exc


@contextmanager
def _sqlite_month_lock(engine: Engine, report_date: dt.date, run_id: str) -> Iterator[None]:
    """An exclusive lock on ``<staging db>.locks/<month>.lock``, released when the run ends or its process dies."""
    with engine.connect() as conn:
        files = {row[1]: row[2] for row in conn.exec_driver_sql("PRAGMA database_list")}
    folder = Path(files.get(STAGING_SCHEMA) or files.get("main") or ".")
    locks = folder.with_name(folder.name + ".locks")
    locks.mkdir(parents=True, exist_ok=True)
    fd = os.open(locks / f"{report_date.isoformat()}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _busy(report_date, run_id) from None
        yield
    finally:
        os.close(fd)


def published_by(engine: Engine, report_date: dt.date) -> str | None:
    """The run whose list is ``report_date``'s published list, from the month's fencing row."""
    with engine.begin() as conn:
        ensure_tables(conn)
        row = conn.execute(rko_publication.select().where(rko_publication.c.report_date == report_date)).first()
    return None if row is None else row.published_run_id


def _swap_partition(
    conn: Connection, rows: pd.DataFrame, report_date: dt.date, run_id: str, token: int
) -> tuple[int, int]:
    """COPY the month into the load table and swap it in as the month's partition, fenced by ``token`` (PostgreSQL)."""
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
        text("SELECT mo_staging.rko_propensity_swap(:report_date, :run_id, :token, :published_at)"),
        {"report_date": report_date, "run_id": run_id, "token": token, "published_at": _now()},
    ).scalar_one()
    return int(removed), published


#: The functions that claim and publish a month and record runs, owned by the staging tables' owner.
PUBLISH_FUNCTIONS = (
    (STAGING_SCHEMA, "rko_month_claim"),
    (STAGING_SCHEMA, "rko_propensity_prepare_load"),
    (STAGING_SCHEMA, "rko_propensity_swap"),
    (MONITORING_SCHEMA, "rko_record_run"),
    (MONITORING_SCHEMA, "rko_record_performance"),
    (MONITORING_SCHEMA, "rko_record_pilot_month"),
)


def ensure_functions(conn: Connection, sql_dir: Path | None = None) -> None:
    """Install the publishing functions when they are missing or of another version (PostgreSQL).

    Their version is a hash of the SQL file, kept as a comment on ``rko_month_claim``: most
    calls only read that comment. An install waits for the publishing lock, so two sessions
    never replace the functions at once.
    """
    if conn.dialect.name != "postgresql":
        return
    sql_dir = sql_dir or DEFAULT_SQL_DIR
    version = functions_version(sql_dir)
    current = execute_scalar(
        conn, "SELECT obj_description(to_regprocedure('mo_staging.rko_month_claim(date, text, timestamp)'), 'pg_proc')"
    )
    if current == version:
        return
    execute(conn, "SELECT pg_advisory_xact_lock(:key)", {"key": PUBLISH_LOCK_KEY})
    install_publish_functions(conn, sql_dir)


def functions_version(sql_dir: Path) -> str:
    return hashlib.sha256(load_sql(sql_dir, "staging/publish_functions", "postgresql").encode()).hexdigest()[:16]


def install_publish_functions(conn: Connection, sql_dir: Path) -> None:
    """(Re)create the publishing functions, unless another role owns them (PostgreSQL).

    Where the roles of ``sql/roles/roles.postgresql.sql`` are set up, the owner role owns the
    functions and the scoring role may only execute them: it leaves them as they are. Any
    role that can act as their owner (the owner, a superuser) replaces them with this
    version's, so an upgrade reaches them on the next publish.
    """
    foreign = execute_scalar(
        conn,
        "SELECT COUNT(*) FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace "
        "WHERE n.nspname IN :schemas AND p.proname IN :names AND NOT pg_has_role(p.proowner, 'USAGE')",
        {
            "schemas": sorted({schema for schema, _ in PUBLISH_FUNCTIONS}),
            "names": [name for _, name in PUBLISH_FUNCTIONS],
        },
    )
    if foreign:
        log.debug("the publishing functions belong to another role: left as they are")
        return
    execute_scalar(
        conn, "SELECT set_config('rko.functions_version', :version, true)", {"version": functions_version(sql_dir)}
    )
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:  # no parameters: the driver must not read format()'s %I and %L as placeholders
        cursor.execute(load_sql(sql_dir, "staging/publish_functions", "postgresql"))
    finally:
        cursor.close()


#: The published list as the optimizer reads it: every column of the table but the load time.
_PUBLISHED = [c for c in rko_propensity.columns if c.name != "loaded_at"]
_KIND_OF_TYPE = {dt.date: "date", int: "int", float: "float", str: "str"}


def _published_select(report_date: dt.date | None) -> str:
    """The SELECT of the published list (of one month when ``report_date``), built from the table's columns."""
    query = sa_select(*_PUBLISHED).order_by(rko_propensity.c.report_date, rko_propensity.c["rank"])
    if report_date is not None:
        query = query.where(rko_propensity.c.report_date == bindparam("report_date"))
    return str(query.compile(compile_kwargs={"render_postcompile": False}))


def read_published(engine: Engine, report_date: dt.date | None = None) -> pd.DataFrame:
    """The published list of ``report_date`` (every month when None), best rank first."""
    kinds = {c.name: _KIND_OF_TYPE[c.type.python_type] for c in _PUBLISHED}
    params = {"report_date": report_date} if report_date else {}
    return read_frame(engine, _published_select(report_date), params, kinds)  # type: ignore[arg-type]


def _json_ready(values: dict[str, object]) -> dict[str, object]:
    """A row as JSON values: dates in ISO form, NaN and infinities as null."""
    out: dict[str, object] = {}
    for key, value in values.items():
        if isinstance(value, dt.date | dt.datetime | pd.Timestamp):
            out[key] = value.isoformat()
        elif isinstance(value, float) and not math.isfinite(value):
            out[key] = None
        elif hasattr(value, "item"):  # a numpy scalar
            out[key] = value.item()
        else:
            out[key] = value
    return out


def run_row_values(row: dict[str, object]) -> dict[str, object]:
    """The run-metrics row of ``row``: every column of the table, the report date a date, stamped now."""
    values = {c.name: row.get(c.name) for c in run_metrics.columns}
    values["report_date"] = pd.Timestamp(values["report_date"]).date()  # type: ignore[arg-type]
    values["recorded_at"] = _now()
    return values


def write_run_row(conn: Connection, row: dict[str, object]) -> None:
    """Write one run's metrics in the caller's transaction, replacing the row of the same run id.

    A run id names one month: one recorded for another month is refused, so a reused id never
    deletes another month's row. On PostgreSQL through ``rko_monitoring.rko_record_run``.
    """
    values = run_row_values(row)
    if conn.dialect.name == "postgresql":
        row_json = json.dumps(_json_ready(values))
        conn.execute(text("SELECT rko_monitoring.rko_record_run(CAST(:row AS jsonb))"), {"row": row_json})
        return
    other = conn.execute(
        run_metrics.select().where(
            run_metrics.c.run_id == values["run_id"], run_metrics.c.report_date != values["report_date"]
        )
    ).first()
    if other is not None:
        raise InvalidInputError(
            f"run id {values['run_id']} already names the run of {other.report_date}; a run id names one month: "
            "use a new one"
        )
    conn.execute(run_metrics.delete().where(run_metrics.c.run_id == values["run_id"]))
    conn.execute(run_metrics.insert(), [values])


def record_run(engine: Engine, row: dict[str, object], sql_dir: Path | None = None) -> None:
    """Write one run's metrics, replacing an earlier row of the same run id (a retried task)."""
    try:
        with engine.begin() as conn:
            ensure_tables(conn)
            ensure_functions(conn, sql_dir)
            write_run_row(conn, row)
    except (SQLAlchemyError, *dbapi_errors(engine)) as exc:
        if _sqlstate(exc) == RUN_ID_TAKEN_SQLSTATE:
            raise InvalidInputError(_first_line(exc)) from exc
        raise WarehouseError(f"recording run {row.get('run_id')} failed and was rolled back: {exc}") from exc


def month_of_run(engine: Engine, run_id: str) -> dt.date | None:
    """The month a run id was recorded for, or None when it names no recorded run."""
    with engine.begin() as conn:
        ensure_tables(conn)
    runs = read_frame(
        engine,
        "SELECT r.report_date FROM rko_monitoring.rko_run_metrics AS r WHERE r.run_id = :run_id",
        {"run_id": run_id},
        {"report_date": "date"},
    )
    return None if runs.empty else pd.Timestamp(runs["report_date"].iloc[0]).date()


def read_runs(engine: Engine) -> pd.DataFrame:
    """Every recorded run, oldest first; empty before the first run."""
    with engine.begin() as conn:
        ensure_tables(conn)
    kinds = {"report_date": "date", "rows_snapshot": "float", "validation_success": "float", "status": "str"}
    return read_frame(engine, "SELECT * FROM rko_monitoring.rko_run_metrics ORDER BY recorded_at, run_id", {}, kinds)  # type: ignore[arg-type]


def _replace_month(
    engine: Engine,
    table: Table,
    report_date: dt.date,
    values: list[dict[str, object]],
    function_call: tuple[str, dict[str, object]],
    what: str,
    sql_dir: Path | None = None,
) -> None:
    """Replace ``table``'s rows of ``report_date`` with ``values`` in one transaction.

    On PostgreSQL through the owner's SECURITY DEFINER function (``function_call``: its SQL and
    parameters), since the scoring role writes no monitoring table directly (docs/security.md).
    """
    try:
        with engine.begin() as conn:
            ensure_tables(conn)
            ensure_functions(conn, sql_dir)
            if conn.dialect.name == "postgresql":
                conn.execute(text(function_call[0]), function_call[1])
                return
            conn.execute(table.delete().where(table.c.report_date == report_date))
            if values:
                conn.execute(table.insert(), values)
    except (SQLAlchemyError, *dbapi_errors(engine)) as exc:
        raise WarehouseError(f"recording {what} of {report_date} failed: {exc}") from exc


def record_performance(engine: Engine, row: dict[str, object], sql_dir: Path | None = None) -> None:
    """Write a month's realised performance, replacing an earlier evaluation of the same month."""
    values = {c.name: row.get(c.name) for c in realised_performance.columns}
    values["report_date"] = report_date = pd.Timestamp(values["report_date"]).date()  # type: ignore[arg-type]
    values["evaluated_at"] = _now()
    call = "SELECT rko_monitoring.rko_record_performance(CAST(:row AS jsonb))"
    function_call = (call, {"row": json.dumps(_json_ready(values))})
    _replace_month(engine, realised_performance, report_date, [values], function_call, "the performance", sql_dir)


def record_pilot_lines(engine: Engine, report_date: dt.date, rows: list[dict[str, object]]) -> None:
    """Replace a month's pilot lines in one transaction (``rko_monitoring.rko_record_pilot_month`` on PostgreSQL)."""
    now = _now()
    values = [
        {**{c.name: row.get(c.name) for c in pilot_results.columns}, "report_date": report_date, "evaluated_at": now}
        for row in rows
    ]
    call = "SELECT rko_monitoring.rko_record_pilot_month(:report_date, CAST(:rows AS jsonb))"
    function_call = (call, {"report_date": report_date, "rows": json.dumps([_json_ready(v) for v in values])})
    _replace_month(engine, pilot_results, report_date, values, function_call, "the pilot measurement")


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
