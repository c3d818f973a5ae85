"""The optimizer's staging table, the monitoring tables, and how a month is published.

``mo_staging.rko_propensity`` holds one ranked list per report date; a month is replaced in
one transaction, so a rerun or backfill leaves exactly one copy and the optimizer never reads a
half-written month. How is the warehouse backend's (:mod:`rko_model.warehouse.backends`): on
PostgreSQL the table is list-partitioned by report date and the new list, COPied into a bare
load table, replaces the month's partition (drop, rename, attach), so publishing costs one COPY
whatever the table holds; on SQLite the month is deleted and inserted.
``rko_monitoring.rko_run_metrics`` holds one row per scoring run, ``rko_monitoring.rko_realised_performance``
one row per evaluated month. On PostgreSQL both are schemas; on SQLite each is a file ATTACHed
under the schema's name, so every statement uses the same qualified names. The tables are
defined in :mod:`rko_model.warehouse.staging_tables`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import Table, bindparam
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from rko_model import columns as col
from rko_model.errors import WarehouseError
from rko_model.warehouse.backends import backend_for, parse_url
from rko_model.warehouse.list_columns import PILOT_COLUMN_NAMES, add_missing_columns
from rko_model.warehouse.query import dbapi_errors, read_frame
from rko_model.warehouse.staging_tables import (  # the tables are the staging module's vocabulary too
    MONITORING_SCHEMA,
    STAGING_SCHEMA,
    metadata,
    pilot_results,
    realised_performance,
    rko_propensity,
    rko_publication,
    run_metrics,
    utc_now,
)

#: The SQL files of this checkout: the publishing functions where no settings are at hand.
DEFAULT_SQL_DIR = Path(__file__).resolve().parent.parent.parent / "sql"
#: The schemas of the staging database, in the order a SQLite staging URL's files are given to them.
SCHEMAS = (STAGING_SCHEMA, MONITORING_SCHEMA)

log = logging.getLogger(__name__)


def make_staging_engine(url: str) -> Engine:
    """An engine on which ``mo_staging.*`` and ``rko_monitoring.*`` resolve, on every warehouse.

    On SQLite the URL's file holds ``mo_staging`` and ``rko_monitoring.db`` beside it the monitoring tables.
    """
    parsed = parse_url(url)
    return backend_for(parsed).create_staging_engine(parsed, SCHEMAS)


def ensure_tables(conn: Connection) -> None:
    """Create the schemas (where they are not files) and the tables if missing, in the caller's transaction.

    A schema is created only when absent: ``CREATE SCHEMA IF NOT EXISTS`` needs the right to
    create schemas even when there is nothing to do, which the scoring role does not have
    (see ``sql/roles/roles.postgresql.sql``).
    """
    backend_for(conn).ensure_schemas(conn, SCHEMAS)
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
            backend = backend_for(conn)
            removed, published = backend.publish_month(
                conn, rows, report_date, run_id, hold.token if hold else None, sql_dir
            )
            if run_row is not None:
                write_run_row(conn, run_row)
    except (SQLAlchemyError, *dbapi_errors(engine)) as exc:
        raise WarehouseError(
            f"publishing {report_date} failed and was rolled back; the earlier list stays: {exc}"
        ) from exc
    log.info("published %s: %d rows (replaced %d)", report_date, published, max(removed, 0))
    return published


def claim_month(conn: Connection, report_date: dt.date, run_id: str) -> int:
    """Advance the month's generation in the caller's transaction; the new value is the run's fencing token."""
    return backend_for(conn).claim_month(conn, report_date, run_id)


@contextmanager
def hold_month(engine: Engine, report_date: dt.date, run_id: str) -> Iterator[MonthHold]:
    """Hold ``report_date`` for one run: a second run of the month fails at once instead of interleaving.

    The hold is a lock that goes with the run's process (a PostgreSQL session advisory lock on
    a connection of its own; on SQLite an exclusive ``flock`` on a file beside the staging
    database) plus a fencing token claimed under it. Should the lock be lost while the run goes
    on (its connection killed, its lock file removed), a second run can claim the month, and
    the first one's publish is refused by its stale fencing number: it never publishes inside another's window.
    """
    with backend_for(engine).hold_month(engine, report_date, run_id):
        hold = _claim(engine, report_date, run_id)
        log.info("run %s holds %s (fencing token %d)", run_id, report_date, hold.token)
        yield hold


def _claim(engine: Engine, report_date: dt.date, run_id: str) -> MonthHold:
    try:
        with engine.begin() as conn:
            ensure_tables(conn)
            ensure_functions(conn)
            return MonthHold(report_date, run_id, claim_month(conn, report_date, run_id))
    except (SQLAlchemyError, *dbapi_errors(engine)) as exc:
        raise WarehouseError(f"claiming {report_date} for run {run_id} failed: {exc}") from exc


def published_by(engine: Engine, report_date: dt.date) -> str | None:
    """The run whose list is ``report_date``'s published list, from the month's fencing row."""
    with engine.begin() as conn:
        ensure_tables(conn)
        row = conn.execute(rko_publication.select().where(rko_publication.c.report_date == report_date)).first()
    return None if row is None else row.published_run_id


def ensure_functions(conn: Connection, sql_dir: Path | None = None) -> None:
    """Install the backend's publishing functions when they are missing or of another version (PostgreSQL)."""
    backend_for(conn).ensure_functions(conn, sql_dir or DEFAULT_SQL_DIR)


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


def run_row_values(row: dict[str, object]) -> dict[str, object]:
    """The run-metrics row of ``row``: every column of the table, the report date a date, stamped now."""
    values = {c.name: row.get(c.name) for c in run_metrics.columns}
    values["report_date"] = pd.Timestamp(values["report_date"]).date()  # type: ignore[arg-type]
    values["recorded_at"] = utc_now()
    return values


def write_run_row(conn: Connection, row: dict[str, object]) -> None:
    """Write one run's metrics in the caller's transaction, replacing the row of the same run id.

    A run id names one month: one recorded for another month is refused, so a reused id never
    deletes another month's row. On PostgreSQL through ``rko_monitoring.rko_record_run``.
    """
    backend_for(conn).record_run_row(conn, run_row_values(row))


def record_run(engine: Engine, row: dict[str, object], sql_dir: Path | None = None) -> None:
    """Write one run's metrics, replacing an earlier row of the same run id (a retried task)."""
    try:
        with engine.begin() as conn:
            ensure_tables(conn)
            ensure_functions(conn, sql_dir)
            write_run_row(conn, row)
    except (SQLAlchemyError, *dbapi_errors(engine)) as exc:
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
    what: str,
    sql_dir: Path | None = None,
) -> None:
    """Replace ``table``'s rows of ``report_date`` with ``values`` in one transaction.

    On PostgreSQL through the owner's SECURITY DEFINER function of the table, since the
    scoring role writes no monitoring table directly (docs/security.md).
    """
    try:
        with engine.begin() as conn:
            ensure_tables(conn)
            ensure_functions(conn, sql_dir)
            backend_for(conn).replace_month_rows(conn, table, report_date, values)
    except (SQLAlchemyError, *dbapi_errors(engine)) as exc:
        raise WarehouseError(f"recording {what} of {report_date} failed: {exc}") from exc


def record_performance(engine: Engine, row: dict[str, object], sql_dir: Path | None = None) -> None:
    """Write a month's realised performance, replacing an earlier evaluation of the same month."""
    values = {c.name: row.get(c.name) for c in realised_performance.columns}
    values["report_date"] = report_date = pd.Timestamp(values["report_date"]).date()  # type: ignore[arg-type]
    values["evaluated_at"] = utc_now()
    _replace_month(engine, realised_performance, report_date, [values], "the performance", sql_dir)


def record_pilot_lines(engine: Engine, report_date: dt.date, rows: list[dict[str, object]]) -> None:
    """Replace a month's pilot lines in one transaction (``rko_monitoring.rko_record_pilot_month`` on PostgreSQL)."""
    now = utc_now()
    values = [
        {**{c.name: row.get(c.name) for c in pilot_results.columns}, "report_date": report_date, "evaluated_at": now}
        for row in rows
    ]
    _replace_month(engine, pilot_results, report_date, values, "the pilot measurement")


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
