"""SQLite, the embedded default: one file per schema, a cursor to read, executemany to load, a file lock per month.

pysqlite's own transaction handling is switched off (explicit ``BEGIN``), so DDL and a whole
load are one transaction as on PostgreSQL; WAL lets readers go on while a month is written.
The staging engine is an in-memory database with one file ``ATTACH``ed per schema, so every
statement uses the same qualified names (``mo_staging.rko_propensity``) as on a server.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Date, Table, create_engine, event
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import URL, Connection, Engine

from rko_model.errors import ConfigError, InvalidInputError, MonthBusyError
from rko_model.warehouse.backends.base import WarehouseBackend, month_busy, table_rows
from rko_model.warehouse.binding import Params, statement
from rko_model.warehouse.staging_tables import (
    STAGING_SCHEMA,
    rko_propensity,
    rko_publication,
    run_metrics,
    utc_now,
)

log = logging.getLogger(__name__)

#: Rows per executemany call: bounds the Python objects alive at once.
BATCH_ROWS = 50_000
#: pysqlite's default busy timeout (ms), restored on a pooled connection after a longer wait.
DEFAULT_BUSY_MS = 5000


def on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    """Take transactions out of pysqlite's hands; WAL lets readers go on while a month is written.

    pysqlite only opens a transaction before DML, so DDL (a table dropped and recreated)
    would commit on its own; with ``isolation_level = None`` and an explicit BEGIN (see
    :func:`on_begin`) a whole load is one transaction, as on PostgreSQL.
    """
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def on_begin(conn) -> None:  # type: ignore[no-untyped-def]
    """BEGIN, or BEGIN IMMEDIATE for a connection with the execution option ``sqlite_immediate``.

    A deferred transaction that reads first and then writes fails at once ("database is
    locked") when another writer got there in between; IMMEDIATE takes the write lock at BEGIN
    and waits for it instead (up to the connection's busy timeout).
    """
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("sqlite_immediate") else "BEGIN")


def schema_files(url: URL, schemas: Sequence[str]) -> dict[str, Path]:
    """The files behind ``schemas``: the URL's file for the first, one beside it (``<schema>.db``) for each other."""
    path = Path(url.database or f"{schemas[0]}.db")
    return {schema: path if i == 0 else path.with_name(f"{schema}.db") for i, schema in enumerate(schemas)}


def iso_value(value: object) -> object:
    """SQLite stores dates as ISO text; bind them the same way so comparisons are textual."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [iso_value(v) for v in value]
    return value


class SQLiteBackend(WarehouseBackend):
    """The embedded default: single user, no server, no roles."""

    name = "sqlite"
    sql_variants = ("sqlite",)
    parallel_reads = False
    per_client_index_reads = False

    def create_engine(self, url: URL) -> Engine:
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)
        event.listen(engine, "connect", on_connect)
        event.listen(engine, "begin", on_begin)
        return engine

    def create_staging_engine(self, url: URL, schemas: Sequence[str]) -> Engine:
        files = schema_files(url, schemas)
        for path in files.values():
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine("sqlite://")

        def attach(dbapi_connection, record) -> None:  # type: ignore[no-untyped-def]
            on_connect(dbapi_connection, record)
            cursor = dbapi_connection.cursor()
            for schema, path in files.items():
                cursor.execute(f"ATTACH DATABASE ? AS {schema}", (str(path),))
                cursor.execute(f"PRAGMA {schema}.journal_mode=WAL")
            cursor.close()

        event.listen(engine, "connect", attach)
        event.listen(engine, "begin", on_begin)
        return engine

    def ensure_schemas(self, conn: Connection, schemas: Sequence[str]) -> None:
        """Nothing: each schema is a file, attached by the staging engine."""

    def bind_values(self, params: Params) -> dict[str, object]:
        return {k: iso_value(v) for k, v in params.items()}

    def read_frame(self, bind: Engine | Connection, sql: str, params: Params, kinds: Mapping[str, str]) -> pd.DataFrame:
        bound = self.bind_values(params)
        if isinstance(bind, Engine):
            with bind.connect() as conn:
                return self.read_frame(conn, sql, params, kinds)
        result = bind.execute(statement(sql, bound), bound)
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))

    def bulk_insert(self, conn: Connection, table: Table, frame: pd.DataFrame) -> None:
        """Batched ``executemany`` of plain Python values (ISO dates), on the driver's cursor."""
        preparer = conn.dialect.identifier_preparer
        target = preparer.format_table(table)
        cols = ", ".join(preparer.quote(c) for c in frame.columns)
        marks = ", ".join("?" for _ in frame.columns)
        dates = {c.name for c in table.columns if isinstance(c.type, Date)}
        insert = f"INSERT INTO {target} ({cols}) VALUES ({marks})"
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            for start in range(0, len(frame), BATCH_ROWS):
                cursor.executemany(insert, _python_rows(frame.iloc[start : start + BATCH_ROWS], dates))
        finally:
            cursor.close()

    def refresh_statistics(self, engine: Engine, tables: Sequence[Table]) -> bool:
        return False

    @contextmanager
    def write_transaction(self, engine: Engine, wait_seconds: int) -> Iterator[Connection]:
        with engine.connect() as conn:
            driver = conn.connection.driver_connection  # on the driver: a statement here would open the transaction
            driver.execute(f"PRAGMA busy_timeout = {int(wait_seconds) * 1000:d}")  # type: ignore[union-attr]
            try:
                immediate = conn.execution_options(sqlite_immediate=True)
                with immediate.begin():
                    yield immediate
            finally:
                driver.execute(f"PRAGMA busy_timeout = {DEFAULT_BUSY_MS:d}")  # type: ignore[union-attr]

    def explain(self, conn: Connection, sql: str, params: Params) -> dict:
        """``EXPLAIN QUERY PLAN``'s rows as a tree: each step a node whose ``Node Type`` is SQLite's detail text."""
        bound = self.bind_values(params)
        rows = conn.execute(statement("EXPLAIN QUERY PLAN " + sql, bound), bound).all()
        nodes: dict[int, dict] = {0: {"Node Type": "Query", "Plans": []}}
        for node_id, parent, _, detail in rows:
            nodes[node_id] = {"Node Type": str(detail), "Plans": []}
            nodes.get(parent, nodes[0])["Plans"].append(nodes[node_id])
        return nodes[0]

    def ensure_functions(self, conn: Connection, sql_dir: Path) -> None:
        """Nothing: SQLite has no server-side functions; the backend does their work in the transaction."""

    def claim_month(self, conn: Connection, report_date: dt.date, run_id: str) -> int:
        table = rko_publication
        conn.execute(sqlite_insert(table).values(report_date=report_date, generation=0).on_conflict_do_nothing())
        conn.execute(
            table.update()
            .where(table.c.report_date == report_date)
            .values(generation=table.c.generation + 1, claimed_by=run_id, claimed_at=utc_now())
        )
        return int(conn.execute(table.select().where(table.c.report_date == report_date)).one().generation)

    def publish_month(
        self, conn: Connection, rows: pd.DataFrame, report_date: dt.date, run_id: str, token: int | None, sql_dir: Path
    ) -> tuple[int, int]:
        """Compare-and-advance the month's generation, then delete the month and insert it, all in one transaction."""
        fence = token if token is not None else self.claim_month(conn, report_date, run_id)
        _advance_generation(conn, report_date, run_id, fence)
        removed = conn.execute(rko_propensity.delete().where(rko_propensity.c.report_date == report_date)).rowcount
        rows = table_rows(rko_propensity, rows)
        if not rows.empty:
            self.bulk_insert(conn, rko_propensity, rows)
        return removed, len(rows)

    @contextmanager
    def hold_month(self, engine: Engine, report_date: dt.date, run_id: str) -> Iterator[None]:
        """An exclusive ``flock`` on ``<staging db>.locks/<month>.lock``, released when the run or its process ends."""
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
                raise month_busy(report_date, run_id) from None
            yield
        finally:
            os.close(fd)

    def record_run_row(self, conn: Connection, values: dict[str, object]) -> None:
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

    def replace_month_rows(
        self, conn: Connection, table: Table, report_date: dt.date, values: list[dict[str, object]]
    ) -> None:
        conn.execute(table.delete().where(table.c.report_date == report_date))
        if values:
            conn.execute(table.insert(), values)

    def set_up_roles(
        self, engine: Engine, sql_dir: Path, session_settings: Mapping[str, str], prepare: Callable[[Connection], None]
    ) -> None:
        raise ConfigError("database roles need PostgreSQL; sqlite has none")


def _advance_generation(conn: Connection, report_date: dt.date, run_id: str, token: int) -> None:
    """Compare the month's generation with ``token`` and advance it, or refuse."""
    table = rko_publication
    changed = conn.execute(
        table.update()
        .where(table.c.report_date == report_date, table.c.generation == token)
        .values(generation=token + 1, published_run_id=run_id, published_at=utc_now())
    ).rowcount
    if changed != 1:
        holder = conn.execute(table.select().where(table.c.report_date == report_date)).first()
        claimer, generation = (holder.claimed_by, holder.generation) if holder else ("?", "none")
        raise MonthBusyError(
            f"run {run_id} lost its hold on {report_date}: run {claimer} claimed the month since "
            f"(fencing token {token}, the month is at {generation}); nothing was published",
            transient=False,
        )


def _python_rows(frame: pd.DataFrame, date_columns: Collection[str]) -> Iterator[tuple[object, ...]]:
    """Rows as plain Python values: ISO dates and timestamps, None for missing values."""
    columns = [_python_values(frame[c], c in date_columns) for c in frame.columns]
    return zip(*columns, strict=True)


def _python_values(series: pd.Series, is_date: bool) -> list[object]:
    if pd.api.types.is_datetime64_any_dtype(series):
        text = series.dt.strftime("%Y-%m-%d" if is_date else "%Y-%m-%d %H:%M:%S")
        return text.astype(object).where(series.notna(), None).tolist()
    if pd.api.types.is_float_dtype(series) and not series.isna().any():
        return series.to_numpy(dtype=np.float64).tolist()
    if pd.api.types.is_integer_dtype(series) and not series.isna().any():
        return series.to_numpy(dtype=np.int64).tolist()
    return series.astype(object).where(series.notna(), None).tolist()
