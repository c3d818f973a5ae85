"""Publishing to mo_staging.rko_propensity on both engines: months replaced whole, bad lists refused."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from rko_model.errors import WarehouseError
from rko_model.settings import Settings
from rko_model.stages.scoring import rank_scores
from rko_model.warehouse.query import read_frame
from rko_model.warehouse.staging import make_staging_engine, publish_month, read_published
from tests.conftest import ENGINES, POSTGRES_URL, need_postgres

MONTH = dt.date(2026, 10, 31)
SQL_DIR = Settings.from_env({}).sql_dir


@pytest.fixture(params=ENGINES)
def staging(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = make_staging_engine(f"sqlite:///{tmp_path / 'mo_staging.db'}")
        yield engine
        engine.dispose()
        return
    yield from _postgres_staging()


@pytest.fixture
def pg_staging() -> Iterator[Engine]:
    """Partitions are PostgreSQL's: these tests have no SQLite twin."""
    yield from _postgres_staging()


def _postgres_staging() -> Iterator[Engine]:
    need_postgres()
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA IF EXISTS mo_staging CASCADE")
        conn.exec_driver_sql("DROP SCHEMA IF EXISTS rko_monitoring CASCADE")
    engine = make_staging_engine(POSTGRES_URL)
    yield engine
    engine.dispose()
    admin.dispose()


def _ranked(n: int, seed: int, month: dt.date = MONTH) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return rank_scores(np.arange(n) + 1000, rng.random(n), month, "v1", f"run-{seed}")


def test_ranks_and_deciles() -> None:
    ranked = rank_scores(np.array([5, 3, 9, 1]), np.array([0.1, 0.9, 0.9, 0.5]), MONTH, "v", "r")
    assert ranked["client_id"].tolist() == [3, 9, 1, 5]  # ties go to the lower id
    assert ranked["rank"].tolist() == [1, 2, 3, 4]
    assert _ranked(1000, 1)["decile"].value_counts().eq(100).all()


def test_a_month_is_replaced_whole(staging: Engine) -> None:
    publish_month(staging, _ranked(500, 1), MONTH, SQL_DIR)
    publish_month(staging, _ranked(300, 2, dt.date(2026, 9, 30)), dt.date(2026, 9, 30), SQL_DIR)
    publish_month(staging, _ranked(400, 3), MONTH, SQL_DIR)  # a rerun of October
    october = read_published(staging, MONTH)
    assert len(october) == 400 and set(october["run_id"]) == {"run-3"}
    assert len(read_published(staging, dt.date(2026, 9, 30))) == 300
    assert len(read_published(staging)) == 700
    loaded = read_frame(staging, "SELECT DISTINCT loaded_at FROM mo_staging.rko_propensity", {})["loaded_at"]
    loaded = pd.to_datetime(loaded)
    now = pd.Timestamp(dt.datetime.now(dt.UTC).replace(tzinfo=None))
    assert ((now - loaded).abs() < pd.Timedelta(minutes=5)).all()  # the time of day is kept


def test_bad_lists_are_refused_and_the_month_stays(staging: Engine) -> None:
    publish_month(staging, _ranked(200, 1), MONTH, SQL_DIR)
    duplicated = pd.concat([_ranked(50, 2), _ranked(50, 2).iloc[:1]], ignore_index=True)
    with pytest.raises(ValueError, match="1 duplicated clients"):
        publish_month(staging, duplicated, MONTH, SQL_DIR)
    with pytest.raises(ValueError, match="another month"):
        publish_month(staging, _ranked(10, 3, dt.date(2026, 9, 30)), MONTH, SQL_DIR)
    assert set(read_published(staging, MONTH)["run_id"]) == {"run-1"}


def test_postgresql_swaps_one_partition_per_month(pg_staging: Engine) -> None:
    staging = pg_staging
    for seed, month in ((1, MONTH), (2, dt.date(2026, 9, 30)), (3, MONTH)):
        publish_month(staging, _ranked(100 + seed, seed, month), month, SQL_DIR)
    with staging.connect() as conn:
        parts = conn.exec_driver_sql(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits AS i "
            "JOIN pg_class AS c ON c.oid = i.inhrelid WHERE i.inhparent = 'mo_staging.rko_propensity'::regclass "
            "ORDER BY 1"
        ).all()
        leftovers = conn.exec_driver_sql("SELECT to_regclass('mo_staging.rko_propensity_load')").scalar()
    assert [name for name, _ in parts] == ["rko_propensity_20260930", "rko_propensity_20261031"]
    assert "'2026-10-31'" in parts[1][1]
    assert leftovers is None
    assert len(read_published(staging, MONTH)) == 103


def test_postgresql_refuses_an_unpartitioned_table_of_an_earlier_version(pg_staging: Engine) -> None:
    staging = pg_staging
    with staging.begin() as conn:
        conn.exec_driver_sql("CREATE SCHEMA mo_staging")
        conn.exec_driver_sql("CREATE TABLE mo_staging.rko_propensity (LIKE pg_catalog.pg_am)")
    with pytest.raises(WarehouseError, match="not partitioned by report_date"):
        publish_month(staging, _ranked(10, 1), MONTH, SQL_DIR)
