"""The backend contract: every warehouse backend does each job of the interface, for real, on its engine.

Run on both engines through the one parametrised ``warehouse`` fixture of tests/conftest.py; the
staging methods (publish, hold, record) get a staging engine on the same engine. A new backend
(Greenplum, say) is added to ``ENGINES`` and must pass this module as it stands. The last tests
check that a warehouse without a backend is refused with one line, and that nothing outside
``rko_model/warehouse/backends/`` looks at the dialect.
"""

from __future__ import annotations

import ast
import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from rko_model.errors import ConfigError, MonthBusyError, WarehouseError
from rko_model.settings import PROJECT_ROOT, Settings
from rko_model.warehouse.backends import BACKENDS, backend_for
from rko_model.warehouse.backends.base import WarehouseBackend
from rko_model.warehouse.backends.support import POSTGRES_LOOKALIKES, refuse_postgres_lookalikes
from rko_model.warehouse.engine import make_engine
from rko_model.warehouse.list_columns import PILOT_COLUMN_NAMES
from rko_model.warehouse.query import coerce, read_frame
from rko_model.warehouse.readers import connection_reader, open_reader
from rko_model.warehouse.staging import ensure_tables, make_staging_engine, read_published
from rko_model.warehouse.staging_tables import realised_performance
from tests.conftest import POSTGRES_URL
from tests.helpers import reset_postgres_staging

MONTH = dt.date(2026, 10, 31)
OTHER_MONTH = dt.date(2026, 9, 30)
SQL_DIR = Settings.from_env({}).sql_dir

#: A table of every kind of column the project reads and loads, nulls included.
MIXED = sa.Table(
    "contract_mixed",
    sa.MetaData(),
    sa.Column("client_id", sa.BigInteger, nullable=False),
    sa.Column("amount", sa.Float),
    sa.Column("segment", sa.String(32)),
    sa.Column("month_end", sa.Date),
)
KINDS = {"client_id": "int", "amount": "float", "segment": "str", "month_end": "date"}
#: All-numeric and null-free: PostgreSQL loads it through binary COPY.
NUMBERS = sa.Table(
    "contract_numbers",
    sa.MetaData(),
    sa.Column("big", sa.BigInteger, nullable=False),
    sa.Column("small", sa.Integer, nullable=False),
    sa.Column("real", sa.Float, nullable=False),
)


def _mixed(n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    months = pd.to_datetime([OTHER_MONTH, MONTH] * (n // 2)).astype("datetime64[s]")
    frame = pd.DataFrame(
        {
            "client_id": np.arange(1, n + 1, dtype=np.int64),
            "amount": rng.normal(1000.0, 300.0, n).round(2),
            "segment": rng.choice(["SMB", "micro", 'O\'Brien & "co", ltd'], n),
            "month_end": months,
        }
    )
    frame.loc[::7, "amount"] = np.nan
    frame.loc[::11, "segment"] = None
    return frame


@pytest.fixture
def backend(warehouse: Engine) -> WarehouseBackend:
    return backend_for(warehouse)


@pytest.fixture
def loaded(warehouse: Engine, backend: WarehouseBackend) -> Engine:
    """The warehouse with MIXED created and loaded through the backend."""
    with warehouse.begin() as conn:
        MIXED.create(conn)
        backend.bulk_insert(conn, MIXED, _mixed())
    return warehouse


@pytest.fixture
def staging(warehouse: Engine, tmp_path: Path) -> Iterator[Engine]:
    """A staging engine on the warehouse's engine: a file beside it (SQLite) or the same database (PostgreSQL)."""
    if backend_for(warehouse).name == "sqlite":
        engine = make_staging_engine(f"sqlite:///{tmp_path / 'mo_staging.db'}")
    else:
        reset_postgres_staging(POSTGRES_URL)
        engine = make_staging_engine(warehouse.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        ensure_tables(conn)
        backend_for(engine).ensure_functions(conn, SQL_DIR)
    yield engine
    engine.dispose()


def _ranked(n: int, run_id: str, month: dt.date = MONTH) -> pd.DataFrame:
    """A list as publish_month hands it to the backend: every column of the table."""
    frame = pd.DataFrame(
        {
            "report_date": pd.Timestamp(month),
            "client_id": np.arange(1, n + 1, dtype=np.int64),
            "score": np.linspace(0.9, 0.1, n),
            "rank": np.arange(1, n + 1),
            "decile": np.minimum(np.arange(n) * 10 // n + 1, 10),
            "model_version": "v1",
            "run_id": run_id,
            "loaded_at": pd.Timestamp("2026-11-05 10:00:00"),
        }
    )
    return frame.assign(**{name: None for name in PILOT_COLUMN_NAMES})


# -- choosing the backend ------------------------------------------------------------------------


def test_the_backend_is_chosen_once_from_the_url_and_kept_by_the_engine(warehouse: Engine) -> None:
    by_url = backend_for(warehouse.url)
    assert by_url is backend_for(warehouse) is BACKENDS[by_url.name]
    with warehouse.connect() as conn:
        assert backend_for(conn) is by_url
    assert isinstance(by_url.parallel_reads, bool) and isinstance(by_url.per_client_index_reads, bool)
    assert by_url.sql_variants and all(v == v.lower() for v in by_url.sql_variants)


# -- reading and loading -------------------------------------------------------------------------


def test_a_fast_read_returns_what_pandas_read_sql_returns(loaded: Engine, backend: WarehouseBackend) -> None:
    sql = (
        "SELECT client_id, amount, segment, month_end FROM contract_mixed "
        "WHERE month_end = :month AND client_id NOT IN :skipped ORDER BY client_id"
    )
    params = {"month": MONTH, "skipped": [2, 4, 6], "unused": 1}
    fast = read_frame(loaded, sql, params, KINDS)  # type: ignore[arg-type]
    with loaded.connect() as conn:
        bound = backend.bind_values({"month": MONTH, "skipped": [2, 4, 6]})
        query = sa.text(sql).bindparams(sa.bindparam("skipped", expanding=True))
        plain = coerce(pd.read_sql(query, conn, params=bound), KINDS)  # type: ignore[arg-type]
    assert len(fast) == 97 and fast["amount"].isna().any() and fast["segment"].isna().any()
    pd.testing.assert_frame_equal(fast, plain)


def test_a_fast_read_of_no_rows_keeps_the_columns(loaded: Engine, backend: WarehouseBackend) -> None:
    sql = "SELECT client_id, segment FROM contract_mixed WHERE client_id < :low"
    with loaded.connect() as conn:
        frame = backend.read_frame(conn, sql, {"low": 0}, {"client_id": "int", "segment": "str"})
    assert frame.empty and list(frame.columns) == ["client_id", "segment"]


def test_a_reading_session_reads_what_a_connection_reads(loaded: Engine, backend: WarehouseBackend) -> None:
    """The backend's session (ADBC on PostgreSQL) reads what the portable path reads, temporary tables included."""
    sql = (
        "SELECT m.client_id, m.amount, m.segment, m.month_end, m.amount * 2 AS doubled, "
        "CASE WHEN m.client_id % 5 = 0 THEN '' ELSE m.segment END AS maybe_empty "
        "FROM contract_mixed AS m JOIN picked AS p ON p.client_id = m.client_id "
        "WHERE m.month_end = :month AND m.client_id NOT IN :skipped ORDER BY m.client_id"
    )
    kinds = {**KINDS, "doubled": "float", "maybe_empty": "str"}
    params = {"month": MONTH, "skipped": [2, 4, 6]}
    picked = "CREATE TEMPORARY TABLE picked AS SELECT client_id FROM contract_mixed WHERE client_id <= :top"
    frames = []
    for session in (open_reader, connection_reader):
        with session(loaded) as reader:  # type: ignore[operator]
            reader.execute(picked, {"top": 150})
            assert reader.has_table("contract_mixed") and not reader.has_table("no_such_table")
            frames.append(reader.read_frame(sql, params, kinds))  # type: ignore[arg-type]
            assert reader.explain(sql, params)  # planned with the temporary table, not run
            empty = reader.read_frame("SELECT client_id, segment FROM contract_mixed WHERE client_id < 0", {}, KINDS)
            assert empty.empty and list(empty.columns) == ["client_id", "segment"]
    fast, portable = frames
    assert len(fast) == 72 and fast["segment"].isna().any() and fast["maybe_empty"].isna().any()
    pd.testing.assert_frame_equal(fast, portable)
    with open_reader(loaded) as reader, pytest.raises(WarehouseError, match="picked"):  # went with the session
        reader.read_frame("SELECT client_id FROM picked", {}, {"client_id": "int"})


def test_bulk_insert_round_trips(loaded: Engine, backend: WarehouseBackend) -> None:
    back = read_frame(loaded, "SELECT * FROM contract_mixed ORDER BY client_id", {}, KINDS)  # type: ignore[arg-type]
    expected = _mixed().astype({"segment": "str"})
    pd.testing.assert_frame_equal(back, expected)
    numbers = pd.DataFrame(
        {"big": [2**40, -1, 0], "small": [7, -(2**31), 2**31 - 1], "real": [0.1, -1e300, 3.5]}
    ).astype({"big": "int64", "small": "int32"})
    with loaded.begin() as conn:
        NUMBERS.create(conn)
        backend.bulk_insert(conn, NUMBERS, numbers)
        rows = conn.execute(sa.select(NUMBERS).order_by(NUMBERS.c.small)).all()
    assert rows == sorted(numbers.itertuples(index=False, name=None), key=lambda r: r[1])


def test_bulk_insert_is_part_of_the_callers_transaction(loaded: Engine, backend: WarehouseBackend) -> None:
    with pytest.raises(RuntimeError), loaded.begin() as conn:
        backend.bulk_insert(conn, MIXED, _mixed(10).assign(client_id=lambda f: f["client_id"] + 1000))
        raise RuntimeError("the job fails after its load")
    with loaded.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(MIXED)).scalar() == 200


def test_bound_dates_compare_with_stored_dates(loaded: Engine, backend: WarehouseBackend) -> None:
    with loaded.connect() as conn:
        bound = backend.bind_values({"month": MONTH, "months": [MONTH, OTHER_MONTH]})
        query = sa.text("SELECT COUNT(*) FROM contract_mixed WHERE month_end = :month AND month_end IN :months")
        count = conn.execute(query.bindparams(sa.bindparam("months", expanding=True)), bound).scalar()
    assert count == 100


def test_explain_returns_a_plan_without_running_the_query(loaded: Engine, backend: WarehouseBackend) -> None:
    with loaded.connect() as conn:
        plan = backend.explain(conn, "SELECT * FROM contract_mixed WHERE month_end = :month", {"month": MONTH})
    assert isinstance(plan, dict) and plan["Node Type"]
    assert "contract_mixed" in repr(plan)


def test_refresh_statistics_leaves_the_rows(loaded: Engine, backend: WarehouseBackend) -> None:
    refreshed = backend.refresh_statistics(loaded, [MIXED])
    assert refreshed == (backend.name == "postgresql")
    with loaded.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(MIXED)).scalar() == 200


def test_a_write_transaction_commits_whole_or_not_at_all(loaded: Engine, backend: WarehouseBackend) -> None:
    with backend.write_transaction(loaded, 5) as conn:
        conn.execute(MIXED.delete().where(MIXED.c.month_end == OTHER_MONTH))
    with pytest.raises(RuntimeError), backend.write_transaction(loaded, 5) as conn:
        conn.execute(MIXED.delete())
        raise RuntimeError("the build fails halfway")
    with loaded.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(MIXED)).scalar() == 100


def test_the_backends_sql_variant_wins_over_the_common_file(backend: WarehouseBackend, tmp_path: Path) -> None:
    for name in ("common", "split"):
        (tmp_path / f"{name}.sql").write_text("SELECT 'common'", encoding="utf-8")
    for variant in ("sqlite", "postgresql", "greenplum"):
        (tmp_path / f"split.{variant}.sql").write_text(f"SELECT '{variant}'", encoding="utf-8")
    assert backend.load_sql(tmp_path, "common") == "SELECT 'common'"
    assert backend.load_sql(tmp_path, "split") == f"SELECT '{backend.sql_variants[0]}'"
    with pytest.raises(ConfigError, match=r"no SQL file nope\.sql"):
        backend.load_sql(tmp_path, "nope")


# -- months: claim, hold, publish ----------------------------------------------------------------


def _published(staging: Engine, month: dt.date = MONTH) -> pd.DataFrame:
    return read_published(staging, month)


def test_publish_replaces_a_month_and_refuses_a_stale_token(staging: Engine) -> None:
    backend = backend_for(staging)
    with staging.begin() as conn:
        first = backend.claim_month(conn, MONTH, "run-a")
        assert backend.publish_month(conn, _ranked(30, "run-a"), MONTH, "run-a", first, SQL_DIR) == (0, 30)
        backend.publish_month(conn, _ranked(5, "other", OTHER_MONTH), OTHER_MONTH, "other", None, SQL_DIR)
    with staging.begin() as conn:
        second = backend.claim_month(conn, MONTH, "run-b")
    assert second > first
    with pytest.raises(MonthBusyError) as caught, staging.begin() as conn:
        backend.publish_month(conn, _ranked(50, "run-a"), MONTH, "run-a", first, SQL_DIR)
    assert not caught.value.transient
    assert set(_published(staging)["run_id"]) == {"run-a"} and len(_published(staging)) == 30
    with staging.begin() as conn:
        assert backend.publish_month(conn, _ranked(20, "run-b"), MONTH, "run-b", second, SQL_DIR) == (30, 20)
    published = _published(staging)
    assert len(published) == 20 and set(published["run_id"]) == {"run-b"}
    assert published["rank"].tolist() == list(range(1, 21))
    assert len(_published(staging, OTHER_MONTH)) == 5  # the other month is untouched
    with pytest.raises(MonthBusyError), staging.begin() as conn:  # a token publishes once
        backend.publish_month(conn, _ranked(10, "run-b"), MONTH, "run-b", second, SQL_DIR)


def test_a_failed_publish_leaves_the_earlier_list(staging: Engine) -> None:
    backend = backend_for(staging)
    with staging.begin() as conn:
        backend.publish_month(conn, _ranked(30, "run-a"), MONTH, "run-a", None, SQL_DIR)
    with pytest.raises(RuntimeError), staging.begin() as conn:
        backend.publish_month(conn, _ranked(10, "run-b"), MONTH, "run-b", None, SQL_DIR)
        raise RuntimeError("the run row cannot be written")
    assert set(_published(staging)["run_id"]) == {"run-a"} and len(_published(staging)) == 30


def test_holding_a_month_excludes_a_second_holder(staging: Engine) -> None:
    backend = backend_for(staging)
    with backend.hold_month(staging, MONTH, "run-a"):
        with (
            pytest.raises(MonthBusyError, match="another run is scoring 2026-10-31") as caught,
            backend.hold_month(staging, MONTH, "run-b"),
        ):
            pass
        assert caught.value.transient
        with backend.hold_month(staging, OTHER_MONTH, "run-c"):  # another month is free
            pass
    with backend.hold_month(staging, MONTH, "run-b"):  # released when run A's hold ended
        pass


def test_recorded_rows_of_a_month_are_replaced(staging: Engine) -> None:
    backend = backend_for(staging)
    row = {c.name: None for c in realised_performance.columns}
    first = {**row, "report_date": MONTH, "rows": 10, "rows_unlabelled": 0, "positives": 1, "status": "ok"}
    first["evaluated_at"] = dt.datetime(2027, 2, 1)
    second = {**first, "positives": 3, "status": "warning"}
    for values in (first, second):
        with staging.begin() as conn:
            backend.replace_month_rows(conn, realised_performance, MONTH, [values])
    with staging.connect() as conn:
        rows = conn.execute(sa.select(realised_performance.c.positives, realised_performance.c.status)).all()
    assert rows == [(3, "warning")]


def test_roles_or_a_clear_refusal(backend: WarehouseBackend, warehouse: Engine) -> None:
    """SQLite has no roles: one line says so. PostgreSQL's roles are exercised by tests/test_roles.py."""
    if backend.name != "sqlite":
        pytest.skip("the roles of PostgreSQL are set up and checked cell by cell in tests/test_roles.py")
    with pytest.raises(ConfigError, match=r"^database roles need PostgreSQL; sqlite has none$"):
        backend.set_up_roles(warehouse, SQL_DIR, {}, ensure_tables)


# -- warehouses without a backend ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("greenplum://gpadmin@gp-master:5432/dwh", "Greenplum"),
        ("greenplum+psycopg2://gpadmin:secret@gp-master:5432/dwh", "Greenplum"),
        ("postgresql+greenplum://gpadmin@gp-master:5432/dwh", "Greenplum"),
        ("mysql://u@h/db", "mysql"),
    ],
)
def test_a_warehouse_without_a_backend_is_refused_in_one_line(url: str, named: str) -> None:
    for choose in (backend_for, make_engine, make_staging_engine):
        with pytest.raises(ConfigError) as caught:
            choose(url)
        message = str(caught.value)
        assert "\n" not in message and "not supported yet" in message and named in message
        assert "WarehouseBackend" in message and "docs/warehouses.md" in message and "secret" not in message


class _Server:
    """A DB-API connection whose server answers ``SELECT version()`` with ``version``."""

    def __init__(self, version: str) -> None:
        self.version = version

    def cursor(self) -> _Server:
        return self

    def execute(self, sql: str) -> None:
        assert sql == "SELECT version()"

    def fetchone(self) -> tuple[str]:
        return (self.version,)

    def close(self) -> None:
        pass


def test_greenplum_behind_a_postgresql_url_is_refused_on_first_connect() -> None:
    """Greenplum reports its dialect as postgresql: the PostgreSQL engine asks the server first."""
    greenplum = "PostgreSQL 12.12 (Greenplum Database 7.1.0 build commit:e7c2b1f) on x86_64-pc-linux-gnu, compiled"
    with pytest.raises(ConfigError, match=r"^Greenplum \(server 'PostgreSQL 12\.12 \(Greenplum.*not supported yet"):
        refuse_postgres_lookalikes(_Server(greenplum), None)
    refuse_postgres_lookalikes(_Server("PostgreSQL 15.8 (Debian 15.8-0+deb12u1) on x86_64-pc-linux-gnu"), None)
    assert "Greenplum" in POSTGRES_LOOKALIKES
    engine = make_engine("postgresql+psycopg2://u@127.0.0.1:1/none")  # the check is wired to the first connect
    assert sa.event.contains(engine, "first_connect", refuse_postgres_lookalikes)


# -- nothing else looks at the dialect -----------------------------------------------------------

#: What deciding on the warehouse looks like in code.
_DIALECT_LOOKS = re.compile(
    r"\.dialect\.name|dialect_of\(|get_backend_name\(|\.drivername|==\s*\"(?:sqlite|postgresql)\"|"
    r"startswith\(\"(?:sqlite|postgres)"
)
#: file -> why its look at the URL is no warehouse path.
_ALLOWED_LOOKS = {
    "rko_model/settings.py": "the default staging URL of an SQLite warehouse, a file beside it; no engine is made",
}


def test_only_the_backends_look_at_the_dialect() -> None:
    found = {}
    for folder in ("rko_model", "plugins", "dags"):
        for path in sorted((PROJECT_ROOT / folder).rglob("*.py")):
            relative = path.relative_to(PROJECT_ROOT).as_posix()
            if relative.startswith("rko_model/warehouse/backends/") or relative in _ALLOWED_LOOKS:
                continue
            code = ast.unparse(ast.parse(path.read_text(encoding="utf-8")))  # comments and layout gone
            hits = [m.group(0) for m in _DIALECT_LOOKS.finditer(code)]
            if hits:
                found[relative] = hits
    assert not found, f"dialect branches outside rko_model/warehouse/backends/: {found}"
