"""`dag.test()` of rko_performance_monitoring on SQLite and PostgreSQL: a closed month, a breach, an unscored month."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from sklearn.metrics import roc_auc_score

from rko_model import columns as col
from rko_model.runs.monthly import run_month
from rko_model.settings import Settings
from rko_model.stages.labels import extract_labels
from rko_model.synth.spec import BankSpec
from rko_model.warehouse.staging import make_staging_engine, read_performance, read_published
from tests.conftest import ENGINES
from tests.helpers import airflow_connections, champion_bank

BANK = BankSpec(n_clients=1500, n_months=24, seed=5)  # 18 months known by July: the champion trains as of July
SCORED = dt.date(2026, 7, 31)  # its window (July, October] closes with the bank's last month
SCORING_RUN = "scoring__2026-07"


@pytest.fixture(scope="module", params=ENGINES)
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, airflow_db: Path
) -> Iterator[Settings]:
    """A bank, a champion that knows no label from July on, July scored and published (without Airflow).

    The champion is refit on the latest labelled months, so one trained on the whole bank would
    have learnt July's own openings (a realised Gini near 1): it is trained as of July instead.
    """
    folder = tmp_path_factory.mktemp(f"perf-{request.param}")
    with champion_bank(request.param, folder, BANK, as_of=SCORED) as settings:
        run_month(settings, SCORED, SCORING_RUN)
        patch = pytest.MonkeyPatch()
        airflow_connections(patch, settings)
        yield settings
        patch.undo()


def _run(month_after: str) -> tuple[str, dict[str, str]]:
    """Run the DAG whose data interval is the month before ``month_after``; the run state and task states."""
    from airflow.dag_processing.dagbag import DagBag

    from rko_model.settings import PROJECT_ROOT

    bag = DagBag(dag_folder=str(PROJECT_ROOT / "dags" / "rko_performance_monitoring.py"))
    dag = bag.get_dag("rko_performance_monitoring")
    for task in dag.tasks:  # dag.test() would sit out the retry delay of a failing task
        task.retries = 0
    dag_run = dag.test(logical_date=dt.datetime.fromisoformat(f"{month_after}T06:00:00+00:00"))
    return str(dag_run.state), {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}


def _stored(settings: Settings) -> pd.DataFrame:
    return read_performance(make_staging_engine(settings.staging_url))


def test_a_closed_month_is_evaluated_and_stored(stack: Settings) -> None:
    state, tasks = _run("2026-11-01")  # October's run judges July
    assert state == "success" and tasks == {"evaluate": "success", "pilot": "success", "check": "success"}
    stored = _stored(stack)
    assert stored["report_date"].tolist() == [pd.Timestamp(SCORED)]
    row = stored.iloc[0]
    published = read_published(make_staging_engine(stack.staging_url), SCORED)
    truth = published.merge(extract_labels(sa.create_engine(stack.warehouse_url), SCORED, stack), on=col.CLIENT_ID)
    assert row["run_id"] == SCORING_RUN and row["model_version"] == published["model_version"].iloc[0]
    assert row["rows"] == len(published) == len(truth) and row["positives"] == truth[col.TARGET].sum()
    assert row["gini"] == pytest.approx(2 * roc_auc_score(truth[col.TARGET], truth["score"]) - 1)
    top = truth[truth["rank"] <= round(len(truth) / 10)]  # the top 10% (decile 1 may hold one more row)
    assert row["conversion_top10"] == pytest.approx(top[col.TARGET].mean())
    assert row["lift_top_decile"] == pytest.approx(top[col.TARGET].mean() / truth[col.TARGET].mean())
    assert row["status"] in ("ok", "warning") and row["gini"] >= stack.gini_floor
    assert state == _run("2026-11-01")[0] and len(_stored(stack)) == 1  # a rerun replaces the month's row


def test_a_floor_breach_fails_the_run_with_the_reason(
    stack: Settings, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RKO_GINI_FLOOR", "0.99")
    state, tasks = _run("2026-11-01")
    printed = capfd.readouterr()
    assert state == "failed" and tasks == {"evaluate": "success", "pilot": "success", "check": "failed"}, (state, tasks)
    row = _stored(stack).iloc[0]
    assert row["status"] == "alert"
    reason = f"realised Gini of 2026-07-31 is {row['gini']:.3f}, below the floor 0.990"
    assert reason in row["message"]
    assert f"RKO performance alert: {reason}" in printed.out + printed.err, (printed.out + printed.err)[-3000:]


def test_a_month_that_was_never_scored_is_skipped(stack: Settings) -> None:
    before = _stored(stack)
    state, tasks = _run("2026-10-01")  # September's run would judge June, which was never scored
    assert tasks == {"evaluate": "skipped", "pilot": "skipped", "check": "skipped"} and state == "success"
    pd.testing.assert_frame_equal(before, _stored(stack))
