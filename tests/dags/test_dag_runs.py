"""`dag.test()` end to end on SQLite and PostgreSQL: publish, rerun, a failed validation, a backfill."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from rko_model import artifacts
from rko_model.settings import Settings
from rko_model.synth.spec import BankSpec
from rko_model.warehouse.staging import make_staging_engine, read_published, read_runs
from tests.conftest import ENGINES
from tests.helpers import airflow_connections, champion_bank, run

BANK = BankSpec(n_clients=1500, n_months=20, seed=5)


@pytest.fixture(scope="module", params=ENGINES)
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, airflow_db: Path
) -> Iterator[Settings]:
    """A bank, a promoted champion and Connections pointing at them, on one engine."""
    with champion_bank(request.param, tmp_path_factory.mktemp(f"stack-{request.param}"), BANK) as settings:
        patch = pytest.MonkeyPatch()
        airflow_connections(patch, settings)
        yield settings
        patch.undo()


def _dag():  # type: ignore[no-untyped-def]
    from airflow.dag_processing.dagbag import DagBag

    from rko_model.settings import PROJECT_ROOT

    bag = DagBag(dag_folder=str(PROJECT_ROOT / "dags" / "rko_monthly_scoring.py"))
    dag = bag.get_dag("rko_monthly_scoring")
    for task in dag.tasks:  # dag.test() would sit out the retry delay of a failing task
        task.retries = 0
    return dag


def _run(month_after: str, partitions: int = 1) -> str:
    """Run the DAG for the month before ``month_after`` (the logical date's data interval)."""
    logical = dt.datetime.fromisoformat(f"{month_after}T03:00:00+00:00")
    dag_run = _dag().test(logical_date=logical, run_conf={"partitions": partitions})
    return str(dag_run.state)


def _published(settings: Settings, month: str) -> pd.DataFrame:
    return read_published(make_staging_engine(settings.staging_url), dt.date.fromisoformat(month))


def test_a_month_is_scored_and_published(stack: Settings) -> None:
    assert _run("2026-11-01") == "success"
    published = _published(stack, "2026-10-31")
    assert len(published) > 300
    assert published["rank"].tolist() == list(range(1, len(published) + 1))
    assert published["score"].is_monotonic_decreasing
    assert published["client_id"].is_unique and set(published["decile"]) == set(range(1, 11))
    runs = read_runs(make_staging_engine(stack.staging_url))
    last = runs.iloc[-1]
    assert last["status"] == "published" and last["rows_published"] == len(published)
    assert last["rows_snapshot"] == len(published) and last["validation_success"] == 1
    assert 0 <= last["score_psi"] < 1


def test_a_rerun_leaves_exactly_one_identical_copy(stack: Settings) -> None:
    before = _published(stack, "2026-10-31")
    assert _run("2026-11-01") == "success"
    after = _published(stack, "2026-10-31")
    columns = ["client_id", "score", "rank", "decile", "model_version"]
    pd.testing.assert_frame_equal(before[columns], after[columns])
    assert after["run_id"].nunique() == 1 and (after["run_id"] != before["run_id"].iloc[0]).all()


def test_a_month_in_three_partitions_publishes_the_same_list(stack: Settings) -> None:
    single = _published(stack, "2026-10-31")
    assert _run("2026-11-01", partitions=3) == "success"
    split = _published(stack, "2026-10-31")
    columns = ["client_id", "score", "rank", "decile", "model_version"]
    pd.testing.assert_frame_equal(single[columns], split[columns])
    last = read_runs(make_staging_engine(stack.staging_url)).iloc[-1]
    assert last["rows_snapshot"] == len(split) and last["validation_success"] == 1
    details = json.loads(last["details"])
    assert details["partitions"] == 3 and len(details["snapshot_path"]) == 3


def test_a_backfill_of_three_months_publishes_three_months(stack: Settings) -> None:
    for month_after in ("2026-07-01", "2026-08-01", "2026-09-01"):
        assert _run(month_after) == "success"
    everything = read_published(make_staging_engine(stack.staging_url))
    months = sorted(everything["report_date"].dt.date.astype(str).unique())
    assert months == ["2026-06-30", "2026-07-31", "2026-08-31", "2026-10-31"]
    assert everything.groupby("report_date")["client_id"].apply(lambda s: s.is_unique).all()


def test_a_failed_validation_stops_before_publishing(stack: Settings) -> None:
    assert _run("2026-10-01") == "success"  # September, the yardstick for October's row count
    earlier = _published(stack, "2026-10-31")
    # Nine in ten SMB clients move segment: October's snapshot shrinks far beyond the tolerance.
    engine = sa.create_engine(stack.warehouse_url)
    run(engine, "UPDATE clients SET segment = 'MID' WHERE segment = 'SMB' AND client_id % 10 <> 0")
    engine.dispose()
    assert _run("2026-11-01") == "failed"
    pd.testing.assert_frame_equal(earlier, _published(stack, "2026-10-31"))
    runs = read_runs(make_staging_engine(stack.staging_url))
    failed = runs[runs["status"] == "failed_validation"]
    assert len(failed) == 1 and failed.iloc[0]["report_date"] == pd.Timestamp("2026-10-31")
    assert failed.iloc[0]["validation_critical"] >= 1
    details = json.loads(failed.iloc[0]["details"])
    assert all(uri.startswith("file://") and artifacts.exists(uri) for uri in details["validation_result"])
