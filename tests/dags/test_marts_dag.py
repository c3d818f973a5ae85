"""`dag.test()` of rko_feature_marts on SQLite and PostgreSQL: the month built, a rerun, the Asset event."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from rko_model.settings import Settings
from rko_model.stages.feature_source import built_months, feature_months
from rko_model.stages.marts import build_months, months_between, plan_months
from rko_model.stages.snapshot import extract_snapshot
from rko_model.synth.generator import generate
from rko_model.warehouse.bank_writer import write_bank
from rko_model.warehouse.engine import make_engine
from tests.conftest import ENGINES, TINY_BANK, new_warehouse
from tests.helpers import airflow_connections, table


@pytest.fixture(scope="module", params=ENGINES)
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, airflow_db: Path
) -> Iterator[Settings]:
    """A tiny bank on one engine, and Connections pointing at it."""
    folder = tmp_path_factory.mktemp(f"marts-{request.param}")
    engine, url, drop = new_warehouse(request.param, folder)
    write_bank(engine, generate(TINY_BANK))
    settings = replace(Settings.from_env({"RKO_DATA_DIR": str(folder / "data")}), warehouse_url=url)
    patch = pytest.MonkeyPatch()
    airflow_connections(patch, settings)
    yield settings
    patch.undo()
    drop()


def _run(month_after: str) -> str:
    from airflow.dag_processing.dagbag import DagBag

    from rko_model.settings import PROJECT_ROOT

    dag = DagBag(dag_folder=str(PROJECT_ROOT / "dags" / "rko_feature_marts.py")).get_dag("rko_feature_marts")
    for task in dag.tasks:
        task.retries = 0
    dag_run = dag.test(logical_date=dt.datetime.fromisoformat(f"{month_after}T01:00:00+00:00"))
    return str(dag_run.state)


def _events() -> list[dict]:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(AssetEvent.extra)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .where(AssetModel.uri == "rko://warehouse/feature_marts")
            .order_by(AssetEvent.id)
        ).all()
    return [dict(r[0] or {}) for r in rows]


def test_a_month_is_built_and_announced(stack: Settings) -> None:
    engine = make_engine(stack.warehouse_url)
    before = len(_events())
    assert _run("2026-11-01") == "success"
    # October's features, and the monthly marts of its window that a new warehouse lacks.
    window = months_between(dt.date(2025, 11, 30), dt.date(2026, 10, 31))
    assert feature_months(engine, stack) == [dt.date(2026, 10, 31)] and built_months(engine, stack) == window
    events = _events()
    assert len(events) == before + 1 and events[-1]["report_date"] == "2026-10-31"
    rows = {name: len(table(engine, name)) for name in ("mart_client_month", "mart_client_features")}
    assert _run("2026-11-01") == "success"  # a rerun replaces the month
    assert {name: len(table(engine, name)) for name in rows} == rows
    assert feature_months(engine, stack) == [dt.date(2026, 10, 31)] and built_months(engine, stack) == window


def test_a_backfill_of_the_window_makes_snapshots_read_the_marts(stack: Settings) -> None:
    engine = make_engine(stack.warehouse_url)
    for month_after in ("2026-09-01", "2026-10-01", "2026-11-01"):
        assert _run(month_after) == "success"
    build_months(engine, stack, plan_months(engine, stack, first="2025-07-31", last="2026-07-31"))
    report = dt.date(2026, 10, 31)
    marts = extract_snapshot(engine, report, replace(stack, feature_source="marts"))
    pd.testing.assert_frame_equal(marts, extract_snapshot(engine, report, replace(stack, feature_source="raw")))
