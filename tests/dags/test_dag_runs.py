"""`dag.test()` end to end on SQLite and PostgreSQL: publish, rerun, a failed validation, a backfill."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from rko_model.settings import Settings
from rko_model.storage import artifacts
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


def _run(month_after: str, partitions: int = 1, poke_seconds: float | None = None) -> str:
    """Run the DAG for the month before ``month_after`` (the logical date's data interval)."""
    return str(_dag_run(month_after, partitions, poke_seconds).state)


def _dag_run(month_after: str, partitions: int = 1, poke_seconds: float | None = None):  # type: ignore[no-untyped-def]
    logical = dt.datetime.fromisoformat(f"{month_after}T03:00:00+00:00")
    dag = _dag()
    if poke_seconds is not None:  # the readiness sensor pokes every 30 minutes in production
        dag.task_dict["wait_for_data"].partial_kwargs["poke_interval"] = poke_seconds  # one sensor per month
    return dag.test(logical_date=logical, run_conf={"partitions": partitions})


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


def test_a_run_of_two_months_publishes_each_month_once_under_its_own_run_id(
    stack: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The marts of September and October triggered one run (as a backfill's may): both months go out, each once.

    ``dag.test()`` makes a manual run, so the months its Asset events would name are given to the
    ``months`` task (rko_airflow.scoring_months.months_of_run, tested on its own).
    """
    from rko_airflow import scoring_months

    monkeypatch.setattr(scoring_months, "months_of_run", lambda context: [dt.date(2026, 10, 31), dt.date(2026, 9, 30)])
    staging = make_staging_engine(stack.staging_url)
    runs_before = set(read_runs(staging)["run_id"])
    dag_run = _dag_run("2026-11-01", partitions=2)
    assert str(dag_run.state) == "success"
    new = read_runs(staging)
    new = new[~new["run_id"].isin(runs_before)]
    assert sorted(new["run_id"]) == [f"{dag_run.run_id}@2026-09", f"{dag_run.run_id}@2026-10"]
    assert set(new["status"]) == {"published"} and new["report_date"].is_unique
    for month, row in zip(("2026-09-30", "2026-10-31"), new.sort_values("report_date").itertuples(), strict=True):
        published = _published(stack, month)
        assert set(published["run_id"]) == {row.run_id} and len(published) == row.rows_published
        assert row.rows_snapshot == len(published) and json.loads(row.details)["partitions"] == 2
    states = _task_states(dag_run)
    assert states["catch_up"] == "skipped"  # a manual run: no Asset window for an event to miss


def test_a_run_with_no_month_of_its_own_scores_nothing_and_succeeds(
    stack: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run triggered only by a catch-up event whose marts event another run took: every step skips."""
    from rko_airflow import scoring_months

    monkeypatch.setattr(scoring_months, "months_of_run", lambda context: [])
    staging = make_staging_engine(stack.staging_url)
    runs_before, published_before = len(read_runs(staging)), read_published(staging)
    dag_run = _dag_run("2026-11-01")
    assert str(dag_run.state) == "success"
    states = _task_states(dag_run)
    assert states.pop("months") == "success" and set(states.values()) == {"skipped"}, states
    assert len(read_runs(staging)) == runs_before
    pd.testing.assert_frame_equal(read_published(staging), published_before)


#: The rows of October that a load has not delivered yet: most account and digital rows, the payments after the 3rd.
_HELD = (
    ("account_monthly", "month_end = :d AND client_id % 4 <> 0"),
    ("digital_activity", "month_end = :d AND client_id % 4 <> 0"),
    ("payments", "payment_date > :cut AND payment_date <= :d"),
)
_OCTOBER, _CUT = dt.date(2026, 10, 31), dt.date(2026, 10, 3)


def _hold_back(settings: Settings) -> None:
    """Make October partly loaded: its late rows move to side tables, as if still on their way."""
    engine = sa.create_engine(settings.warehouse_url)
    for table, where in _HELD:
        run(engine, f"CREATE TABLE held_{table} AS SELECT * FROM {table} WHERE {where}", d=_OCTOBER, cut=_CUT)
        run(engine, f"DELETE FROM {table} WHERE {where}", d=_OCTOBER, cut=_CUT)
    engine.dispose()


def _land(settings: Settings) -> None:
    """The late rows arrive."""
    engine = sa.create_engine(settings.warehouse_url)
    for table, _ in _HELD:
        run(engine, f"INSERT INTO {table} SELECT * FROM held_{table}")
        run(engine, f"DROP TABLE held_{table}")
    engine.dispose()


def _counting_pokes(monkeypatch: pytest.MonkeyPatch, after_first=None) -> list[object]:  # type: ignore[no-untyped-def]
    """Count the sensor's readiness checks (the real ones); ``after_first`` runs once the first has answered."""
    from rko_model.stages import readiness

    real = readiness.check_readiness
    answers: list[object] = []

    def check(*args, **kwargs):  # type: ignore[no-untyped-def]
        answer = real(*args, **kwargs)
        answers.append(answer)
        if len(answers) == 1 and after_first is not None:
            after_first()
        return answer

    monkeypatch.setattr(readiness, "check_readiness", check)
    return answers


def _hours_since_close(month: dt.date) -> float:
    closed = dt.datetime.combine(month + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    return (dt.datetime.now(dt.UTC) - closed).total_seconds() / 3600


def test_a_partly_loaded_month_waits_then_fails_naming_nothing_published(
    stack: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _published(stack, "2026-10-31")
    runs_before = len(read_runs(make_staging_engine(stack.staging_url)))
    _hold_back(stack)
    try:
        # The deadline is a day away at the first poke, which waits; then it passes, and the next poke fails.
        monkeypatch.setenv("RKO_READINESS_DEADLINE_HOURS", str(_hours_since_close(_OCTOBER) + 24))

        def deadline_passes() -> None:
            os.environ["RKO_READINESS_DEADLINE_HOURS"] = str(_hours_since_close(_OCTOBER) - 1)

        pokes = _counting_pokes(monkeypatch, after_first=deadline_passes)
        dag_run = _dag_run("2026-11-01", poke_seconds=1)
        assert str(dag_run.state) == "failed"
        assert len(pokes) >= 2 and all(not p.ready for p in pokes)  # type: ignore[attr-defined]
        assert set(pokes[-1].incomplete) == {"account_monthly", "digital_activity", "payments"}  # type: ignore[attr-defined]
        states = _task_states(dag_run)
        assert states["wait_for_data"] == "failed"
        assert states["plan"] == "upstream_failed" and states["publish"] == "upstream_failed"
    finally:
        _land(stack)
    pd.testing.assert_frame_equal(before, _published(stack, "2026-10-31"))
    assert len(read_runs(make_staging_engine(stack.staging_url))) == runs_before


def test_a_month_that_lands_while_the_sensor_waits_is_scored(stack: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _published(stack, "2026-10-31")
    _hold_back(stack)
    monkeypatch.setenv("RKO_READINESS_DEADLINE_HOURS", str(_hours_since_close(_OCTOBER) + 24))
    pokes = _counting_pokes(monkeypatch, after_first=lambda: _land(stack))
    assert _run("2026-11-01", poke_seconds=1) == "success"
    assert len(pokes) >= 2 and not pokes[0].ready and pokes[-1].ready  # type: ignore[attr-defined]
    after = _published(stack, "2026-10-31")
    assert after["run_id"].iloc[0] != before["run_id"].iloc[0]
    columns = ["client_id", "score", "rank", "decile", "model_version"]
    pd.testing.assert_frame_equal(before[columns], after[columns])  # the whole month, as before
    details = json.loads(read_runs(make_staging_engine(stack.staging_url)).iloc[-1]["details"])
    assert details["readiness"]["ready"] is True and details["readiness"]["forced"] is False


def _task_states(dag_run) -> dict[str, str]:  # type: ignore[no-untyped-def]
    from airflow.utils.session import create_session

    with create_session() as session:
        return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances(session=session)}


def test_a_failed_validation_stops_before_publishing(stack: Settings) -> None:
    assert _run("2026-10-01") == "success"  # September, the yardstick for October's row count
    earlier = _published(stack, "2026-10-31")
    # Nine in ten SMB clients move segment: October's snapshot shrinks far beyond the tolerance.
    engine = sa.create_engine(stack.warehouse_url)
    run(engine, "UPDATE client_attributes SET segment = 'MID' WHERE segment = 'SMB' AND client_id % 10 <> 0")
    engine.dispose()
    assert _run("2026-11-01") == "failed"
    pd.testing.assert_frame_equal(earlier, _published(stack, "2026-10-31"))
    runs = read_runs(make_staging_engine(stack.staging_url))
    failed = runs[runs["status"] == "failed_validation"]
    assert len(failed) == 1 and failed.iloc[0]["report_date"] == pd.Timestamp("2026-10-31")
    assert failed.iloc[0]["validation_critical"] >= 1
    details = json.loads(failed.iloc[0]["details"])
    assert all(uri.startswith("file://") and artifacts.exists(uri) for uri in details["validation_result"])
