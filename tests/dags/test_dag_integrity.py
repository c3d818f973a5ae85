"""DAG files parse cleanly, without touching a connection or a database, into the expected graphs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from rko_model.settings import PROJECT_ROOT

DAGS = PROJECT_ROOT / "dags"


@pytest.fixture(scope="module")
def dagbag(airflow_db: Path):  # type: ignore[no-untyped-def]
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def test_no_import_errors(dagbag) -> None:  # type: ignore[no-untyped-def]
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == {
        "rko_monthly_scoring",
        "rko_retrain",
        "rko_performance_monitoring",
        "rko_list_export",
        "rko_feature_marts",
    }


def test_parsing_touches_no_connection_or_database(monkeypatch: pytest.MonkeyPatch) -> None:
    """Top-level code must not build engines or read Connections: it runs on every parse."""
    import sqlalchemy
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk import BaseHook

    def forbidden(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("database or connection access at parse time")

    monkeypatch.setattr(sqlalchemy, "create_engine", forbidden)
    monkeypatch.setattr(BaseHook, "get_connection", classmethod(forbidden))
    monkeypatch.delenv("AIRFLOW_CONN_RKO_WAREHOUSE", raising=False)
    bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}


def test_monthly_scoring_graph(dagbag) -> None:  # type: ignore[no-untyped-def]
    dag = dagbag.get_dag("rko_monthly_scoring")
    assert {t.task_id for t in dag.tasks} == {
        "months",
        "wait_for_data",
        "plan",
        "extract",
        "validate",
        "score",
        "publish",
        "record",
        "catch_up",
    }
    upstream = {t.task_id: set(t.upstream_task_ids) for t in dag.tasks}
    assert upstream == {
        "months": set(),
        "wait_for_data": {"months"},
        "plan": {"months", "wait_for_data"},
        "extract": {"plan"},
        "validate": {"extract"},
        "score": {"validate"},
        "publish": {"months", "score", "validate"},  # publish checks every partition's validation
        "record": {"wait_for_data", "extract", "validate", "score", "publish"},
        "catch_up": set(),  # a leaf of its own: a failed month still fails the run
    }
    # The readiness sensor waits without holding a worker slot (past its deadline it fails without retrying).
    sensor = dag.get_task("wait_for_data").partial_kwargs  # a sensor per month: mapped
    assert sensor["mode"] == "reschedule" and sensor["poke_interval"] >= 60
    mapped = {t.task_id for t in dag.tasks if getattr(t, "is_mapped", False)}
    # one task instance per month (wait, publish, record) and per month and partition (extract, validate, score)
    assert mapped == {"wait_for_data", "extract", "validate", "score", "publish", "record"}
    catch_up = dag.get_task("catch_up")
    assert [a.uri for a in catch_up.inlets] == ["rko://warehouse/feature_marts"]
    assert [a.uri for a in catch_up.outlets] == ["rko://scoring/marts_catch_up"]
    assert dag.params["partitions"] == 1
    assert dag.max_active_runs == 1 and not dag.catchup


def test_retrain_graph_and_params(dagbag) -> None:  # type: ignore[no-untyped-def]
    dag = dagbag.get_dag("rko_retrain")
    assert {t.task_id: set(t.upstream_task_ids) for t in dag.tasks} == {"train": set(), "promote": {"train"}}
    assert {"train_months", "test_months", "iterations", "negative_share"} <= set(dag.params.keys())
    promote = dag.get_task("promote")
    assert [a.uri for a in promote.outlets] == ["rko://registry/champion"]


@pytest.mark.parametrize(
    "dag_id",
    ["rko_monthly_scoring", "rko_retrain", "rko_performance_monitoring", "rko_list_export", "rko_feature_marts"],
)
def test_conventions(dagbag, dag_id: str) -> None:  # type: ignore[no-untyped-def]
    dag = dagbag.get_dag(dag_id)
    assert dag.doc_md and "rko" in dag.tags and dag.max_active_runs == 1
    for task in dag.tasks:
        assert task.owner == "rko-scoring"
        assert task.retries >= 1


def test_the_published_list_is_an_asset_with_a_consumer(dagbag) -> None:  # type: ignore[no-untyped-def]
    """publish declares the list's Asset; rko_list_export is scheduled on it (and on the catch-up of its events)."""
    publish = dagbag.get_dag("rko_monthly_scoring").get_task("publish")
    assert [a.uri for a in publish.outlets] == ["rko://mo_staging/rko_propensity"]
    export = dagbag.get_dag("rko_list_export")
    uris = {asset.uri for asset in export.timetable.asset_condition.objects}
    assert uris == {"rko://mo_staging/rko_propensity", "rko://export/list_catch_up"}  # and its own catch-up
    assert sorted(t.task_id for t in export.tasks) == ["catch_up", "export"] and "report_date" in export.params
    catch_up = export.get_task("catch_up")
    assert [a.uri for a in catch_up.inlets] == ["rko://mo_staging/rko_propensity"]
    assert [a.uri for a in catch_up.outlets] == ["rko://export/list_catch_up"]
    assert export.max_active_runs == 1 and not export.catchup


def test_every_asset_is_defined_once_in_the_assets_module() -> None:
    """DAGs import their Assets from plugins/rko_airflow/assets.py; none builds its own."""
    import ast

    from rko_airflow import assets

    built = []
    for path in [*DAGS.glob("*.py"), *(PROJECT_ROOT / "plugins").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "Asset":
                built.append(path.name)
    assert built == ["assets.py"] * len(assets.ALL)
    assert len({a.uri for a in assets.ALL}) == len(assets.ALL)


def test_monthly_schedule_has_real_monthly_intervals(dagbag) -> None:  # type: ignore[no-untyped-def]
    """A month's run covers that whole month, and a promotion (the Asset) triggers a run too."""


def test_scoring_follows_the_marts_asset(dagbag) -> None:  # type: ignore[no-untyped-def]
    """Scoring is scheduled on the marts' Asset (and a promotion's), not on a fixed hour."""
    schedule = dagbag.get_dag("rko_monthly_scoring").timetable
    assert type(schedule).__name__ == "AssetTriggeredTimetable"  # not AssetOrTimeSchedule: no cron of its own
    uris = {asset.uri for asset in schedule.asset_condition.objects}
    # and on the catch-up of marts events that no run consumed (rko_airflow.scoring_months)
    assert uris == {"rko://warehouse/feature_marts", "rko://registry/champion", "rko://scoring/marts_catch_up"}
    assert schedule.asset_condition.__class__.__name__.endswith("AssetAny")  # either one triggers a run


def test_marts_graph_schedule_and_asset(dagbag) -> None:  # type: ignore[no-untyped-def]
    """The marts are built once a month, for the month that closed, and the build emits the Asset scoring waits on."""
    import pendulum
    from airflow.sdk import CronDataIntervalTimetable
    from airflow.timetables.interval import CronDataIntervalTimetable as CoreCron

    dag = dagbag.get_dag("rko_feature_marts")
    assert {t.task_id: set(t.upstream_task_ids) for t in dag.tasks} == {"ready": set(), "build": {"ready"}}
    assert [a.uri for a in dag.get_task("build").outlets] == ["rko://warehouse/feature_marts"]
    assert dag.params["lookback"] == 12 and dag.max_active_runs == 1 and not dag.catchup
    assert isinstance(dag.timetable, CronDataIntervalTimetable)
    core = CoreCron(dag.timetable.expression, timezone=pendulum.UTC)
    interval = core.infer_manual_data_interval(run_after=pendulum.datetime(2026, 11, 1, 3, tz="UTC"))
    assert (interval.start.date(), interval.end.date()) == (dt.date(2026, 10, 1), dt.date(2026, 11, 1))


def test_performance_graph_and_schedule(dagbag) -> None:  # type: ignore[no-untyped-def]
    """Monthly data intervals like the scoring DAG's: the run covering a month judges the list of 3 months before."""
    import pendulum
    from airflow.sdk import CronDataIntervalTimetable
    from airflow.timetables.interval import CronDataIntervalTimetable as CoreCron

    from rko_model.common.dates import month_end
    from rko_model.runs.performance import evaluated_month

    dag = dagbag.get_dag("rko_performance_monitoring")
    assert {t.task_id: set(t.upstream_task_ids) for t in dag.tasks} == {
        "evaluate": set(),
        "pilot": {"evaluate"},
        "check": {"evaluate"},
    }
    assert isinstance(dag.timetable, CronDataIntervalTimetable) and not dag.catchup
    core = CoreCron(dag.timetable.expression, timezone=pendulum.UTC)
    interval = core.infer_manual_data_interval(run_after=pendulum.datetime(2026, 11, 1, 6, tz="UTC"))
    assert (interval.start.date(), interval.end.date()) == (dt.date(2026, 10, 1), dt.date(2026, 11, 1))
    assert evaluated_month(month_end(interval.start.date())) == dt.date(2026, 7, 31)


def test_backfill_over_three_months_plans_three_runs(airflow_db: Path) -> None:
    """`airflow backfill create` of the marts over January to March 2026 plans one run per month (each then scores)."""
    import subprocess
    import sys

    cli = [sys.executable, "-m", "airflow"]
    reserialize = subprocess.run([*cli, "dags", "reserialize"], capture_output=True, text=True, check=False)
    assert reserialize.returncode == 0, reserialize.stderr[-2000:]
    plan = subprocess.run(
        [
            *cli,
            "backfill",
            "create",
            "--dag-id",
            "rko_feature_marts",
            "--from-date",
            "2026-01-01",
            "--to-date",
            "2026-03-31",
            "--dry-run",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert plan.returncode == 0, plan.stderr[-2000:]
    planned = [line.split("|")[1].strip() for line in plan.stdout.splitlines() if line.startswith("| 2026")]
    assert planned == ["2026-01-01 01:00:00+00:00", "2026-02-01 01:00:00+00:00", "2026-03-01 01:00:00+00:00"]
