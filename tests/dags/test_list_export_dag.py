"""The published list as an Asset: publish emits it with the month, and rko_list_export runs because of it.

The scoring DAG runs through ``dag.test()``; its publish task emits the Asset event. The
consumer's run is then created from the queued event by the scheduler's own code
(``SchedulerJobRunner._create_dag_runs_asset_triggered``) and its task executed the way
``dag.test()`` executes tasks, so the export reads the month from the event it was triggered by.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from rko_model.errors import InvalidInputError
from rko_model.settings import PROJECT_ROOT, Settings
from rko_model.stages.list_export import CSV, MANIFEST, PARQUET, export_folder
from rko_model.storage import artifacts
from rko_model.synth.spec import BankSpec
from rko_model.warehouse.staging import make_staging_engine, read_published
from tests.conftest import ENGINES
from tests.helpers import airflow_connections, champion_bank

BANK = BankSpec(n_clients=900, n_months=20, seed=23)
MONTH = dt.date(2026, 10, 31)
URI = "rko://mo_staging/rko_propensity"
CONSUMER = "rko_list_export"


@pytest.fixture(scope="module", params=ENGINES)
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, airflow_db: Path
) -> Iterator[Settings]:
    with champion_bank(request.param, tmp_path_factory.mktemp(f"export-dag-{request.param}"), BANK) as settings:
        patch = pytest.MonkeyPatch()
        airflow_connections(patch, settings)
        yield settings
        patch.undo()


def _bag():  # type: ignore[no-untyped-def]
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(PROJECT_ROOT / "dags"))


def _sync_and_unpause_consumer() -> None:
    """Every DAG in the metadata database, the consumer unpaused (a paused DAG gets no queued Asset events)."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session
    from sqlalchemy import update

    manager = DagBundlesManager()  # as dag.test() does it
    manager.sync_bundles_to_db()
    for bundle in manager.get_all_dag_bundles():
        if not bundle.is_initialized:
            bundle.initialize()
        bag = BundleDagBag(dag_folder=bundle.path, bundle_path=bundle.path, bundle_name=bundle.name)
        sync_bag_to_db(bag, bundle.name, bundle.version)
    with create_session() as session:
        session.execute(update(DagModel).where(DagModel.dag_id == CONSUMER).values(is_paused=False))


def _forget_earlier_events() -> None:
    """Drop the list Asset's earlier events and the consumer's queue: other DAG tests of the session
    published other banks' months, and an asset-triggered run consumes every event since the last one."""
    from airflow.models.asset import AssetDagRunQueue, AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import delete, select

    with create_session() as session:
        asset_ids = session.scalars(select(AssetModel.id).where(AssetModel.uri == URI)).all()
        for event in session.scalars(select(AssetEvent).where(AssetEvent.asset_id.in_(asset_ids))).all():
            session.delete(event)
        session.execute(delete(AssetDagRunQueue).where(AssetDagRunQueue.target_dag_id == CONSUMER))


def _score(month_after: str) -> str:
    dag = _bag().get_dag("rko_monthly_scoring")
    for task in dag.tasks:
        task.retries = 0
    logical = dt.datetime.fromisoformat(f"{month_after}T03:00:00+00:00")
    return str(dag.test(logical_date=logical, run_conf={"partitions": 2}).state)


def _asset_events() -> list[dict]:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.scalars(
            select(AssetEvent).join(AssetModel, AssetEvent.asset_id == AssetModel.id).where(AssetModel.uri == URI)
        ).all()
        return [dict(event.extra or {}) for event in rows]


def _run_asset_triggered_consumer() -> tuple[str, str]:
    """Create the consumer's run from its queued Asset events as the scheduler does, then run its task."""
    from airflow.jobs.job import Job
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner
    from airflow.models.dag import DagModel
    from airflow.models.dagrun import DagRun
    from airflow.models.serialized_dag import SerializedDagModel
    from airflow.sdk.definitions.dag import _run_task
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState, TaskInstanceState
    from airflow.utils.types import DagRunType
    from sqlalchemy import select

    with create_session() as session:
        query, triggered = DagModel.dags_needing_dagruns(session)
        models = [m for m in query.all() if m.dag_id in triggered and m.dag_id == CONSUMER]
        assert models, "no Asset event queued a run of the consumer"
        SchedulerJobRunner(job=Job())._create_dag_runs_asset_triggered(dag_models=models, session=session)
    dag = _bag().get_dag(CONSUMER)
    for task in dag.tasks:
        task.retries = 0
    with create_session() as session:
        run = session.scalars(
            select(DagRun)
            .where(DagRun.dag_id == CONSUMER, DagRun.run_type == DagRunType.ASSET_TRIGGERED)
            .order_by(DagRun.id.desc())
        ).first()
        assert run is not None and run.state == DagRunState.QUEUED
        run.state = DagRunState.RUNNING  # what the scheduler does next
        session.commit()
        tis = run.get_task_instances(session=session)
        assert sorted(ti.task_id for ti in tis) == ["catch_up", "export"]
        for ti in tis:
            ti.try_number += 1
            ti.state = TaskInstanceState.SCHEDULED
            session.commit()
            _run_task(ti=ti, task=dag.task_dict[ti.task_id])
        session.expire_all()
        run.dag = SerializedDagModel.get_dag(CONSUMER, session=session)
        run.update_state(session=session)
        session.commit()
        return run.run_id, str(run.state)


def test_publishing_emits_the_asset_and_triggers_the_export(stack: Settings) -> None:
    _sync_and_unpause_consumer()
    _forget_earlier_events()
    before = len(_asset_events())
    assert _score("2026-11-01") == "success"
    events = _asset_events()[before:]
    assert len(events) == 1 and events[0]["report_date"] == "2026-10-31"
    published = read_published(make_staging_engine(stack.staging_url), MONTH)
    assert events[0]["rows"] == len(published) and events[0]["model_version"] == published["model_version"].iloc[0]

    run_id, state = _run_asset_triggered_consumer()
    assert run_id.startswith("asset_triggered__") and state == "success"
    folder = export_folder(stack, MONTH)
    assert artifacts.listing(folder) == [MANIFEST, CSV, PARQUET]
    exported = artifacts.read_parquet(artifacts.join(folder, PARQUET))
    pd.testing.assert_series_equal(exported["client_id"], published["client_id"].reset_index(drop=True))
    manifest = json.loads(artifacts.read_bytes(artifacts.join(folder, MANIFEST)))
    assert manifest["report_date"] == "2026-10-31" and manifest["rows"] == len(published)
    assert manifest["run_id"] == published["run_id"].iloc[0]

    # A rerun of the month (a second event) exports it again in place: the same files, the new run's list.
    first_parquet = artifacts.read_bytes(artifacts.join(folder, PARQUET))
    assert _score("2026-11-01") == "success"
    run_id_again, state = _run_asset_triggered_consumer()
    assert run_id_again != run_id and state == "success"
    assert artifacts.listing(folder) == [MANIFEST, CSV, PARQUET]
    again = artifacts.read_parquet(artifacts.join(folder, PARQUET))
    pd.testing.assert_frame_equal(again.drop(columns="run_id"), exported.drop(columns="run_id"))
    assert len(first_parquet) > 0 and json.loads(artifacts.read_bytes(artifacts.join(folder, MANIFEST)))["rows"] == len(
        published
    )


def test_months_to_export_come_from_the_events_or_the_param() -> None:
    """Several queued events give each month once, in order; a manual run exports the month it names."""
    import sys

    sys.path.insert(0, str(PROJECT_ROOT / "dags"))
    from rko_airflow.assets import LIST_CATCH_UP, PUBLISHED_LIST
    from rko_list_export import months_to_export

    class Event:
        def __init__(self, extra: dict) -> None:
            self.extra = extra

    events = {PUBLISHED_LIST: [Event({"report_date": "2026-10-31"}), Event({"report_date": "2026-09-30"})]}
    events[PUBLISHED_LIST].append(Event({"report_date": "2026-10-31"}))
    assert months_to_export(None, events) == ["2026-09-30", "2026-10-31"]
    assert months_to_export("2026-08-31", {}) == ["2026-08-31"]
    with pytest.raises(InvalidInputError, match="no published month"):  # permanent: not retried
        months_to_export(None, {PUBLISHED_LIST: [Event({})]})
    # a run triggered only by the catch-up of an event no run consumed: that event's months come with it
    assert months_to_export(None, {LIST_CATCH_UP: [Event({"report_dates": ["2026-10-31"]})]}) == []
