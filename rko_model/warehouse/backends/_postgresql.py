"""PostgreSQL (15 and later): COPY both ways, list partitions swapped whole, advisory locks, EXPLAIN, roles.

A month's list is COPied into a bare load table, which then replaces the month's partition
of ``mo_staging.rko_propensity`` (drop, rename, attach) through SECURITY DEFINER functions
owned by the staging tables' owner (``sql/staging/publish_functions.postgresql.sql``), so
publishing costs one COPY whatever the table holds and the scoring role writes no table
directly. The functions compare-and-advance the month's fencing number and raise SQLSTATE
``RKF01`` for a stale one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import logging
import tempfile
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from sqlalchemy import BigInteger, Date, Float, Integer, SmallInteger, Table, create_engine, event, inspect, text
from sqlalchemy.engine import URL, Connection, CursorResult, Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.schema import CreateSchema

from rko_model.errors import InvalidInputError, MonthBusyError
from rko_model.warehouse.backends.base import WarehouseBackend, month_busy, table_rows
from rko_model.warehouse.backends.support import refuse_postgres_lookalikes
from rko_model.warehouse.binding import Params, dbapi_errors, statement, used_params
from rko_model.warehouse.sqlfiles import load_sql
from rko_model.warehouse.staging_tables import (
    FENCED_SQLSTATE,
    MONITORING_SCHEMA,
    RUN_ID_TAKEN_SQLSTATE,
    STAGING_SCHEMA,
    json_ready,
    load_table,
    pilot_results,
    realised_performance,
    utc_now,
)

log = logging.getLogger(__name__)

#: Serialises publishing: the load table and the swap functions are shared.
PUBLISH_LOCK_KEY = 720_451_001
#: Namespace of the per-month run locks (the month is the second key, as YYYYMMDD).
MONTH_LOCK_NAMESPACE = 720_451
#: Namespace of the per-month transaction locks taken inside a claiming or publishing transaction.
MONTH_PUBLISH_NAMESPACE = 720_452

#: The functions that claim and publish a month and record runs, owned by the staging tables' owner.
PUBLISH_FUNCTIONS = (
    (STAGING_SCHEMA, "rko_month_claim"),
    (STAGING_SCHEMA, "rko_propensity_prepare_load"),
    (STAGING_SCHEMA, "rko_propensity_swap"),
    (MONITORING_SCHEMA, "rko_record_run"),
    (MONITORING_SCHEMA, "rko_record_performance"),
    (MONITORING_SCHEMA, "rko_record_pilot_month"),
)
_FUNCTIONS_FILE = "staging/publish_functions"


def _execute(conn: Connection, sql: str, params: Params | None = None) -> CursorResult:
    values = used_params(sql, params or {})
    return conn.execute(statement(sql, values), values)


def month_key(report_date: dt.date, *, publish: bool = False) -> dict[str, int]:
    """The two keys of a month's advisory lock: the run's session lock, or the claiming transaction's."""
    namespace = MONTH_PUBLISH_NAMESPACE if publish else MONTH_LOCK_NAMESPACE
    return {"namespace": namespace, "month": int(report_date.strftime("%Y%m%d"))}


class PostgreSQLBackend(WarehouseBackend):
    """A PostgreSQL server; Greenplum and other look-alikes are refused (see ``support.py``)."""

    name = "postgresql"
    sql_variants = ("postgresql",)
    parallel_reads = True
    per_client_index_reads = True

    # -- engines and schemas ------------------------------------------------------------------

    def create_engine(self, url: URL) -> Engine:
        engine = create_engine(url, pool_pre_ping=True)
        event.listen(engine, "first_connect", refuse_postgres_lookalikes)
        return engine

    def create_staging_engine(self, url: URL, schemas: Sequence[str]) -> Engine:
        return self.create_engine(url)

    def ensure_schemas(self, conn: Connection, schemas: Sequence[str]) -> None:
        """Create a schema only when absent: ``IF NOT EXISTS`` needs the right to create schemas even then."""
        existing = set(inspect(conn).get_schema_names())
        for schema in schemas:
            if schema not in existing:
                conn.execute(CreateSchema(schema))

    # -- SQL text and values -------------------------------------------------------------------

    def bind_values(self, params: Params) -> dict[str, object]:
        return dict(params)

    # -- reading and loading -------------------------------------------------------------------

    def read_frame(self, bind: Engine | Connection, sql: str, params: Params, kinds: Mapping[str, str]) -> pd.DataFrame:
        """COPY (query) TO a spooled file, then read_csv: about 10x faster than row fetching."""
        if isinstance(bind, Engine):
            with bind.connect() as conn:
                return self.read_frame(conn, sql, params, kinds)
        cursor = bind.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            bound_sql = bind_postgres(cursor, bind.dialect, sql, params)
            with tempfile.TemporaryFile(mode="w+b") as sink:
                cursor.copy_expert(f"COPY ({bound_sql}) TO STDOUT WITH (FORMAT csv, HEADER true)", sink)
                sink.seek(0)
                if sink.read(1) == b"":
                    columns = [d.name for d in _describe(cursor, bound_sql)]
                    return pd.DataFrame({c: [] for c in columns})
                sink.seek(0)
                dtype = {c: "str" for c, k in kinds.items() if k in ("str", "date")}
                return pd.read_csv(sink, dtype=dtype, keep_default_na=False, na_values=[""])
        finally:
            cursor.close()

    def open_reader(self, engine: Engine):  # type: ignore[no-untyped-def]
        """An ADBC session: wide results cross as binary COPY into Arrow (``_arrow.py``)."""
        from rko_model.warehouse.backends._arrow import arrow_reader  # ADBC is imported by readers only

        return arrow_reader(engine)

    def bulk_insert(self, conn: Connection, table: Table, frame: pd.DataFrame) -> None:
        """``COPY ... FROM STDIN``: binary for all-numeric null-free frames, CSV otherwise."""
        formats = binary_formats(table, frame)
        if formats is not None:
            buffer, kind = io.BytesIO(binary_copy_bytes(frame, formats)), "binary"
        else:
            dates = {c.name for c in table.columns if isinstance(c.type, Date)}  # DateTime is not a Date
            buffer, kind = io.BytesIO(csv_bytes(frame, dates)), "csv"
        preparer = conn.dialect.identifier_preparer
        target = preparer.format_table(table)
        cols = ", ".join(preparer.quote(c) for c in frame.columns)
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.copy_expert(f"COPY {target} ({cols}) FROM STDIN WITH (FORMAT {kind})", buffer)
        finally:
            cursor.close()

    def refresh_statistics(self, engine: Engine, tables: Sequence[Table]) -> bool:
        """VACUUM (ANALYZE): loaded pages become all-visible (index-only scans skip the heap), statistics fresh.

        Autovacuum may be off (or late); VACUUM cannot run inside a transaction, so it runs
        on a connection of its own in autocommit.
        """
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in tables:
                conn.exec_driver_sql(f"VACUUM (ANALYZE) {conn.dialect.identifier_preparer.format_table(table)}")
        return True

    @contextmanager
    def write_transaction(self, engine: Engine, wait_seconds: int) -> Iterator[Connection]:
        """A plain transaction: writers wait on row locks and on the advisory locks they take."""
        with engine.connect() as conn, conn.begin():
            yield conn

    def explain(self, conn: Connection, sql: str, params: Params) -> dict:
        """``EXPLAIN (FORMAT JSON)`` of the driver-bound query: the top ``Plan`` node."""
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute("EXPLAIN (FORMAT JSON) " + bind_postgres(cursor, conn.dialect, sql, params))
            document = cursor.fetchone()[0]
        finally:
            cursor.close()
        return top_plan(document)

    # -- months: claim, hold, publish ----------------------------------------------------------

    def ensure_functions(self, conn: Connection, sql_dir: Path) -> None:
        """Install the publishing functions when they are missing or of another version.

        Their version is a hash of the SQL file, kept as a comment on ``rko_month_claim``: most
        calls only read that comment. An install waits for the publishing lock, so two sessions
        never replace the functions at once.
        """
        version = functions_version(sql_dir)
        current = _execute(
            conn,
            "SELECT obj_description(to_regprocedure('mo_staging.rko_month_claim(date, text, timestamp)'), 'pg_proc')",
        ).scalar()
        if current == version:
            return
        _execute(conn, "SELECT pg_advisory_xact_lock(:key)", {"key": PUBLISH_LOCK_KEY})
        install_publish_functions(conn, sql_dir)

    def claim_month(self, conn: Connection, report_date: dt.date, run_id: str) -> int:
        """Under the month's transaction lock, through ``mo_staging.rko_month_claim``."""
        _execute(conn, "SELECT pg_advisory_xact_lock(:namespace, :month)", month_key(report_date, publish=True))
        return int(
            conn.execute(
                text("SELECT mo_staging.rko_month_claim(:report_date, :run_id, :claimed_at)"),
                {"report_date": report_date, "run_id": run_id, "claimed_at": utc_now()},
            ).scalar_one()
        )

    def publish_month(
        self, conn: Connection, rows: pd.DataFrame, report_date: dt.date, run_id: str, token: int | None, sql_dir: Path
    ) -> tuple[int, int]:
        """COPY the month into the load table and swap it in as the month's partition, fenced by the token."""
        _execute(conn, "SELECT pg_advisory_xact_lock(:key)", {"key": PUBLISH_LOCK_KEY})
        _execute(conn, "SELECT pg_advisory_xact_lock(:namespace, :month)", month_key(report_date, publish=True))
        self.ensure_functions(conn, sql_dir)
        if token is None:
            token = self.claim_month(conn, report_date, run_id)
        constants = {}
        for name in ("model_version", "run_id", "loaded_at"):
            values = rows[name].unique()
            if len(values) != 1:
                raise ValueError(f"the list of {report_date} holds {len(values)} values of {name}; expected one")
            constants[name] = values[0].to_pydatetime() if name == "loaded_at" else str(values[0])
        _execute(
            conn,
            "SELECT mo_staging.rko_propensity_prepare_load(:report_date, :model_version, :run_id, :loaded_at)",
            {"report_date": report_date, **constants},
        )
        load_rows = table_rows(load_table, rows)
        if not load_rows.empty:
            self.bulk_insert(conn, load_table, load_rows)
        with _refusals():
            removed = conn.execute(
                text("SELECT mo_staging.rko_propensity_swap(:report_date, :run_id, :token, :published_at)"),
                {"report_date": report_date, "run_id": run_id, "token": token, "published_at": utc_now()},
            ).scalar_one()
        return int(removed), len(load_rows)

    @contextmanager
    def hold_month(self, engine: Engine, report_date: dt.date, run_id: str) -> Iterator[None]:
        """A session advisory lock on a connection of its own: it goes with the connection (and the process)."""
        key = month_key(report_date)
        with engine.connect() as conn:
            held = conn.execute(text("SELECT pg_try_advisory_lock(:namespace, :month)"), key).scalar_one()
            conn.commit()
            if not held:
                raise month_busy(report_date, run_id)
            try:
                yield
            finally:
                try:
                    conn.execute(text("SELECT pg_advisory_unlock(:namespace, :month)"), key)
                    conn.commit()
                except (SQLAlchemyError, *dbapi_errors(engine)) as exc:
                    lost = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
                    log.warning("run %s: the lock on %s went with its connection: %s", run_id, report_date, lost)

    def record_run_row(self, conn: Connection, values: dict[str, object]) -> None:
        """Through ``rko_monitoring.rko_record_run``, which refuses a run id of another month (SQLSTATE RKR01)."""
        row_json = json.dumps(json_ready(values))
        with _refusals():
            conn.execute(text("SELECT rko_monitoring.rko_record_run(CAST(:row AS jsonb))"), {"row": row_json})

    def replace_month_rows(
        self, conn: Connection, table: Table, report_date: dt.date, values: list[dict[str, object]]
    ) -> None:
        """Through the owner's SECURITY DEFINER function of the table: the scoring role writes no monitoring table."""
        if table is realised_performance:
            (row,) = values
            call = "SELECT rko_monitoring.rko_record_performance(CAST(:row AS jsonb))"
            conn.execute(text(call), {"row": json.dumps(json_ready(row))})
        elif table is pilot_results:
            call = "SELECT rko_monitoring.rko_record_pilot_month(:report_date, CAST(:rows AS jsonb))"
            conn.execute(text(call), {"report_date": report_date, "rows": json.dumps([json_ready(v) for v in values])})
        else:
            raise ValueError(f"no recording function for {table.fullname}")

    # -- roles ---------------------------------------------------------------------------------

    def set_up_roles(
        self, engine: Engine, sql_dir: Path, session_settings: Mapping[str, str], prepare: Callable[[Connection], None]
    ) -> None:
        """``sql/roles/roles.postgresql.sql`` with the settings as ``rko.*`` session values; its notices are logged."""
        with engine.begin() as conn:
            prepare(conn)
            install_publish_functions(conn, sql_dir)
            for key, value in session_settings.items():
                _execute(conn, "SELECT set_config(:key, :value, true)", {"key": key, "value": value})
            dbapi_connection = conn.connection.dbapi_connection
            cursor = dbapi_connection.cursor()  # type: ignore[union-attr]
            try:  # no parameters: the driver must not read format()'s %I as placeholders
                cursor.execute(load_sql(sql_dir, "roles/roles", self.sql_variants))
            finally:
                cursor.close()
            for notice in getattr(dbapi_connection, "notices", []):
                log.warning("roles: %s", notice.strip())


@contextmanager
def _refusals() -> Iterator[None]:
    """The publishing functions' refusals as the project's errors: a stale fencing token, a run id of another month."""
    try:
        yield
    except DBAPIError as exc:
        code = getattr(exc.orig, "pgcode", None)
        message = str(exc.orig).strip().splitlines()[0]
        if code == FENCED_SQLSTATE:
            raise MonthBusyError(message, transient=False) from exc
        if code == RUN_ID_TAKEN_SQLSTATE:
            raise InvalidInputError(message) from exc
        raise


def functions_version(sql_dir: Path) -> str:
    """A hash of the publishing functions' SQL file: the version installed functions are compared with."""
    return hashlib.sha256(load_sql(sql_dir, _FUNCTIONS_FILE, "postgresql").encode()).hexdigest()[:16]


def install_publish_functions(conn: Connection, sql_dir: Path) -> None:
    """(Re)create the publishing functions, unless another role owns them.

    Where the roles of ``sql/roles/roles.postgresql.sql`` are set up, the owner role owns the
    functions and the scoring role may only execute them: it leaves them as they are. Any
    role that can act as their owner (the owner, a superuser) replaces them with this
    version's, so an upgrade reaches them on the next publish.
    """
    foreign = _execute(
        conn,
        "SELECT COUNT(*) FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace "
        "WHERE n.nspname IN :schemas AND p.proname IN :names AND NOT pg_has_role(p.proowner, 'USAGE')",
        {
            "schemas": sorted({schema for schema, _ in PUBLISH_FUNCTIONS}),
            "names": [name for _, name in PUBLISH_FUNCTIONS],
        },
    ).scalar()
    if foreign:
        log.debug("the publishing functions belong to another role: left as they are")
        return
    _execute(
        conn, "SELECT set_config('rko.functions_version', :version, true)", {"version": functions_version(sql_dir)}
    )
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:  # no parameters: the driver must not read format()'s %I and %L as placeholders
        cursor.execute(load_sql(sql_dir, _FUNCTIONS_FILE, "postgresql"))
    finally:
        cursor.close()


def bind_postgres(cursor, dialect, sql: str, params: Params) -> str:  # type: ignore[no-untyped-def]
    """``sql`` with the values it names bound by the driver (quoted and escaped), as plain text.

    What COPY (query) and EXPLAIN need, since neither takes bound parameters itself.
    """
    values = {k: list(v) if isinstance(v, tuple) else v for k, v in used_params(sql, params).items()}
    compiled = (
        statement(sql, values)
        .bindparams(**values)
        .compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    )
    return cursor.mogrify(compiled.string, compiled.params).decode()


def top_plan(document: object) -> dict:
    """The top ``Plan`` node of ``EXPLAIN (FORMAT JSON)``'s document (text or parsed, by driver)."""
    return (json.loads(document) if isinstance(document, str) else document)[0]["Plan"]  # type: ignore[index]


def _describe(cursor, bound_sql: str):  # type: ignore[no-untyped-def]
    cursor.execute(f"SELECT * FROM ({bound_sql}) AS q LIMIT 0")
    return cursor.description


#: PostgreSQL's binary COPY layout of the fixed-width types, big-endian.
_BINARY_FORMATS: dict[type, str] = {BigInteger: ">i8", Integer: ">i4", SmallInteger: ">i2", Float: ">f8"}


def binary_formats(table: Table, frame: pd.DataFrame) -> list[str] | None:
    """Binary layouts of the columns when every one is a non-null fixed-width number, else None."""
    formats = []
    for column in table.columns:
        layout = _BINARY_FORMATS.get(type(column.type))
        series = frame[column.name]
        if layout is None or not pd.api.types.is_numeric_dtype(series) or series.isna().any():
            return None
        formats.append(layout)
    return formats


def binary_copy_bytes(frame: pd.DataFrame, formats: list[str]) -> bytes:
    """The frame in COPY's binary format, built column-wise by numpy: about half CSV's cost to send and parse.

    Each row is a field count, then a byte length and the big-endian value of each field.
    """
    fields: list[tuple[str, str]] = [("count", ">i2")]
    for i, layout in enumerate(formats):
        fields += [(f"len{i}", ">i4"), (f"val{i}", layout)]
    rows = np.empty(len(frame), dtype=np.dtype(fields))
    rows["count"] = len(formats)
    for i, (name, layout) in enumerate(zip(frame.columns, formats, strict=True)):
        rows[f"len{i}"] = np.dtype(layout).itemsize
        rows[f"val{i}"] = frame[name].to_numpy()
    header = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, header-extension length
    return header + rows.tobytes() + b"\xff\xff"  # trailer: a field count of -1


def csv_bytes(frame: pd.DataFrame, date_columns: Collection[str] = ()) -> bytes:
    """The frame as header-less CSV for COPY: Arrow's writer is about 10x faster than ``to_csv``.

    Timestamps of ``date_columns`` become dates (pandas holds dates as timestamps); missing
    values become empty unquoted fields, which COPY reads as NULL.
    """
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for i, field in enumerate(table.schema):
        if field.name in date_columns and pa.types.is_timestamp(field.type):
            table = table.set_column(i, field.name, pc.cast(table.column(i), pa.date32()))
    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink, write_options=pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    return sink.getvalue().to_pybytes()
