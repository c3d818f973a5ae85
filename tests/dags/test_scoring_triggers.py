"""Two months' marts events landing together, through the scheduler's own code: each month gets a run that scores it.

The events are registered by Airflow's AssetManager (as a task's outlet registers them), the
scoring runs are created by ``SchedulerJobRunner._create_dag_runs_asset_triggered`` (as the
scheduler creates them), and the runs' ``months`` and ``catch_up`` tasks are executed the way
``dag.test()`` executes tasks. No bank is needed: these two tasks touch no warehouse.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rko_model.settings import PROJECT_ROOT

SCORING = "rko_monthly_scoring"
MARTS_URI = "rko://warehouse/feature_marts"
OURS = (MARTS_URI, "rko://scoring/marts_catch_up", "rko://registry/champion")


@pytest.fixture
def scoring_dag(airflow_db: Path) -> Any:
    """The scoring DAG stored and unpaused, with no earlier event of its Assets and nothing queued."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, DagBag, sync_bag_to_db
    from airflow.models.asset import AssetDagRunQueue, AssetEvent, AssetModel
    from airflow.models.dag import DagModel
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from airflow.utils.types import DagRunType
    from sqlalchemy import delete, select, update

    manager = DagBundlesManager()
    manager.sync_bundles_to_db()
    for bundle in manager.get_all_dag_bundles():
        if not bundle.is_initialized:
            bundle.initialize()
        sync_bag_to_db(BundleDagBag(dag_folder=bundle.path, bundle_path=bundle.path, bundle_name=bundle.name),
                       bundle.name, bundle.version)  # fmt: skip
    with create_session() as session:
        session.execute(update(DagModel).where(DagModel.dag_id == SCORING).values(is_paused=False))
        ids = session.scalars(select(AssetModel.id).where(AssetModel.uri.in_(OURS))).all()
        for event in session.scalars(select(AssetEvent).where(AssetEvent.asset_id.in_(ids))).all():
            session.delete(event)  # other DAG tests of the session built marts: not this test's events
        session.execute(delete(AssetDagRunQueue).where(AssetDagRunQueue.target_dag_id == SCORING))
        for run in session.scalars(
            select(DagRun).where(DagRun.dag_id == SCORING, DagRun.run_type == DagRunType.ASSET_TRIGGERED)
        ).all():
            session.delete(run)
    dag = DagBag(dag_folder=str(PROJECT_ROOT / "dags" / f"{SCORING}.py")).get_dag(SCORING)
    for task in dag.tasks:
        task.retries = 0
    yield dag
    with create_session() as session:
        session.execute(update(DagModel).where(DagModel.dag_id == SCORING).values(is_paused=True))


def _built(month: str) -> int:
    """A marts build's Asset event, registered as the build task's outlet registers it."""
    from airflow.assets.manager import asset_manager
    from airflow.models.asset import AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        asset = session.scalar(select(AssetModel).where(AssetModel.uri == MARTS_URI))
        event = asset_manager.register_asset_change(
            asset=asset, extra={"report_date": month, "corrected": []}, session=session
        )
        session.flush()
        return event.id


def _queued() -> list[str]:
    from airflow.models.asset import AssetDagRunQueue, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        return list(
            session.scalars(
                select(AssetModel.uri)
                .join(AssetDagRunQueue, AssetDagRunQueue.asset_id == AssetModel.id)
                .where(AssetDagRunQueue.target_dag_id == SCORING)
            )
        )


def _create_run() -> tuple[str, list[int]]:
    """The scheduler's step: a run from the queue, with the events it consumed; the run id and their ids."""
    from airflow.jobs.job import Job
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner
    from airflow.models.dag import DagModel
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunType
    from sqlalchemy import select

    with create_session() as session:
        query, triggered = DagModel.dags_needing_dagruns(session)
        models = [m for m in query.all() if m.dag_id in triggered and m.dag_id == SCORING]
        assert models, "no Asset event queued a scoring run"
        SchedulerJobRunner(job=Job())._create_dag_runs_asset_triggered(dag_models=models, session=session)
    with create_session() as session:
        run = session.scalars(
            select(DagRun)
            .where(DagRun.dag_id == SCORING, DagRun.run_type == DagRunType.ASSET_TRIGGERED)
            .order_by(DagRun.id.desc())
        ).first()
        run.state = DagRunState.RUNNING  # what the scheduler does next
        return run.run_id, sorted(event.id for event in run.consumed_asset_events)


def _run_task(dag: Any, run_id: str, task_id: str) -> tuple[str, Any]:
    """Execute one task of the run as ``dag.test()`` does; its state and returned value."""
    from airflow.models.dagrun import DagRun
    from airflow.models.xcom import XComModel
    from airflow.sdk.definitions.dag import _run_task as run_task
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState
    from sqlalchemy import select

    with create_session() as session:
        run = session.scalar(select(DagRun).where(DagRun.dag_id == SCORING, DagRun.run_id == run_id))
        ti = run.get_task_instance(task_id, session=session)
        ti.try_number += 1
        ti.state = TaskInstanceState.SCHEDULED
        session.commit()
        run_task(ti=ti, task=dag.task_dict[task_id])
    with create_session() as session:
        run = session.scalar(select(DagRun).where(DagRun.dag_id == SCORING, DagRun.run_id == run_id))
        state = str(run.get_task_instance(task_id, session=session).state)
        value = session.scalar(
            select(XComModel.value).where(
                XComModel.dag_id == SCORING,
                XComModel.run_id == run_id,
                XComModel.task_id == task_id,
                XComModel.key == "return_value",
            )
        )
    return state, json.loads(value) if isinstance(value, str) else value


def _finish(run_id: str) -> None:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState
    from sqlalchemy import update

    with create_session() as session:
        session.execute(update(DagRun).where(DagRun.run_id == run_id).values(state=DagRunState.SUCCESS))


def test_a_marts_event_no_run_consumed_gets_a_run_of_its_own(scoring_dag: Any) -> None:
    """September's build queues the scoring DAG; October's lands before the run is created and adds nothing to the
    queue. Airflow's run consumes September alone and deletes the queue row: October is in no run (the bug a
    two-month backfill showed). The run's ``catch_up`` sees it and triggers the run that consumes and scores it."""
    september = _built("2026-09-30")
    october = _built("2026-10-31")
    assert _queued() == [MARTS_URI]  # one queue row for both events

    first, consumed = _create_run()
    assert consumed == [september] and _queued() == []  # Airflow's mechanism: October is left to no run
    assert _run_task(scoring_dag, first, "months") == ("success", ["2026-09-30"])
    assert _run_task(scoring_dag, first, "catch_up") == ("success", ["2026-10-31"])
    assert _queued() == ["rko://scoring/marts_catch_up"]  # the next run is queued
    _finish(first)

    second, consumed = _create_run()
    assert october in consumed and september not in consumed
    assert _run_task(scoring_dag, second, "months") == ("success", ["2026-10-31"])
    assert _run_task(scoring_dag, second, "catch_up")[0] == "skipped"  # every marts event has its run
    assert _queued() == []
    _finish(second)
