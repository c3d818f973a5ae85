"""A real distributed run: Airflow's services with the CeleryExecutor, two workers that share no disk.

The api-server, scheduler, dag-processor and two Celery workers run as separate processes on
this machine, with Redis (127.0.0.1:6379) as the broker and a PostgreSQL database of their own
for the metadata. Each worker has its own working and data folder; they share only the
databases and the artefact store (``RKO_ARTIFACT_URL``). The test triggers ``rko_monthly_scoring``
with 4 partitions (a manual run for October) and checks that both workers ran tasks, the month was published, and the
list equals the one a single process publishes. Every service it starts is stopped by its
process id. Skipped, with the reason, only where Redis does not answer.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from rko_model.runs import monthly
from rko_model.settings import PROJECT_ROOT, Settings
from rko_model.storage import artifacts
from rko_model.synth.spec import BankSpec
from rko_model.warehouse.staging import make_staging_engine, read_published
from tests.conftest import POSTGRES_URL, need_postgres
from tests.helpers import champion_bank

pytestmark = pytest.mark.slow

REDIS = ("127.0.0.1", 6379)
BANK = BankSpec(n_clients=1500, n_months=20, seed=29)
MONTH = "2026-10-31"
DAG_ID = "rko_monthly_scoring"
LIST = ["client_id", "score", "rank", "decile", "model_version"]
WORKERS = ("worker-a", "worker-b")


def _redis_problem() -> str | None:
    try:
        with socket.create_connection(REDIS, timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            if not sock.recv(16).startswith(b"+PONG"):
                return f"the server at {REDIS[0]}:{REDIS[1]} is not Redis"
    except OSError as exc:
        return f"Redis does not answer at {REDIS[0]}:{REDIS[1]} ({exc}): the Celery integration test needs it"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Stack:
    settings: Settings
    folder: Path
    metadata: sa.Engine
    env: dict[str, str]
    services: dict[str, subprocess.Popen]

    def airflow(self, *args: str, timeout: float = 300) -> str:
        proc = subprocess.run(
            [sys.executable, "-m", "airflow", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert proc.returncode == 0, f"airflow {' '.join(args)}: {proc.stdout[-2000:]}{proc.stderr[-3000:]}"
        return proc.stdout

    def scalar(self, sql: str, **params: object) -> object:
        with self.metadata.connect() as conn:
            return conn.execute(sa.text(sql), params).scalar()

    def wait_for(self, what: str, check, timeout: float) -> object:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in self.services.items():
                assert proc.poll() is None, f"{name} stopped (exit {proc.returncode}): {self.log_tail(name)}"
            value = check()
            if value:
                return value
            time.sleep(2)
        raise AssertionError(f"timed out waiting for {what}; scheduler: {self.log_tail('scheduler')}")

    def log_tail(self, name: str) -> str:
        return (self.folder / "logs" / f"{name}.log").read_text(encoding="utf-8", errors="replace")[-3000:]


def _start(name: str, args: list[str], env: dict[str, str], cwd: Path, folder: Path) -> subprocess.Popen:
    (folder / "logs").mkdir(parents=True, exist_ok=True)
    cwd.mkdir(parents=True, exist_ok=True)
    out = (folder / "logs" / f"{name}.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "airflow", *args],
        env=env,
        cwd=cwd,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stopped with everything it forked
    )


def _stop(services: dict[str, subprocess.Popen]) -> None:
    """SIGTERM to each service's process group (by the pid we started), SIGKILL to what is left after 30 s."""
    for proc in services.values():
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    for proc in services.values():
        try:
            proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    problem = _redis_problem()
    if problem:
        pytest.skip(problem)
    need_postgres()
    folder = tmp_path_factory.mktemp("celery")
    admin_url = sa.engine.make_url(POSTGRES_URL)
    metadata_db = f"{admin_url.database}_celery"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{metadata_db}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{metadata_db}"')
    metadata_url = admin_url.set(database=metadata_db).render_as_string(hide_password=False)
    services: dict[str, subprocess.Popen] = {}
    try:
        with champion_bank("postgresql", folder / "bank", BANK) as settings:
            shared = (folder / "shared-artifacts").as_uri()
            # The bank's champion moves into the store: the registry is reached through it, like the artefacts.
            shutil.copytree(artifacts.local_path(settings.registry_url), folder / "shared-artifacts" / "registry")
            settings = replace(
                settings, artifact_url=shared, registry_url=f"{shared}/registry", runs_url=f"{shared}/runs"
            )
            port = _free_port()
            queue = f"rko-test-{uuid.uuid4().hex[:8]}"  # no other Celery worker on this broker takes our tasks
            env = {
                "PATH": os.environ["PATH"],
                "HOME": str(folder),
                "LANG": "C.UTF-8",
                "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), str(PROJECT_ROOT / "plugins")]),
                "GX_ANALYTICS_ENABLED": "false",
                "AIRFLOW_HOME": str(folder / "airflow"),
                "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url,
                "AIRFLOW__CELERY__BROKER_URL": f"redis://{REDIS[0]}:{REDIS[1]}/11",
                "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + metadata_url.replace("+psycopg2", ""),
                "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
                "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
                "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
                "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
                "AIRFLOW__API__WORKERS": "1",
                "AIRFLOW__API_AUTH__JWT_SECRET": uuid.uuid4().hex,
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
                "AIRFLOW__CORE__HOSTNAME_CALLABLE": "tests.celery_worker_name.name",
                # A loaded machine (2 cores) answers the task API slowly: wait, do not fail the task.
                "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "120",
                "AIRFLOW__WORKERS__EXECUTION_API_RETRIES": "10",
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                # Parsed once: the test holds back the schedule's own run of the latest month (below).
                "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "3600",
                "RKO_TEST_WORKER_NAME": "control",
                "AIRFLOW_CONN_RKO_WAREHOUSE": json.dumps(
                    {"conn_type": "generic", "extra": {"sqlalchemy_url": settings.warehouse_url}}
                ),
                "AIRFLOW_CONN_RKO_STAGING": json.dumps(
                    {"conn_type": "generic", "extra": {"sqlalchemy_url": settings.staging_url}}
                ),
                "RKO_ARTIFACT_URL": shared,  # also the registry's and the training runs' root: no shared folder
                "RKO_DATA_DIR": str(folder / "control-data"),
            }
            metadata = sa.create_engine(metadata_url)
            up = Stack(settings, folder, metadata, env, services)
            up.airflow("db", "migrate", timeout=600)
            services["api-server"] = _start(
                "api-server", ["api-server", "-H", "127.0.0.1", "-p", str(port)], env, folder / "control", folder
            )
            services["scheduler"] = _start("scheduler", ["scheduler"], env, folder / "control", folder)
            services["dag-processor"] = _start("dag-processor", ["dag-processor"], env, folder / "control", folder)
            for name in WORKERS:
                worker_env = {
                    **env,
                    "RKO_TEST_WORKER_NAME": name,
                    "RKO_DATA_DIR": str(folder / name / "data"),
                    "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(folder / name / "logs"),
                }
                args = [
                    "celery",
                    "worker",
                    "-q",
                    queue,
                    "-H",
                    f"{name}@%h",
                    "--skip-serve-logs",
                    "--without-mingle",
                    "--without-gossip",
                ]
                services[name] = _start(name, args, worker_env, folder / name / "work", folder)
            yield up
    finally:
        _stop(services)
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{metadata_db}" WITH (FORCE)')
        admin.dispose()


def _published(settings: Settings) -> pd.DataFrame:
    return read_published(make_staging_engine(settings.staging_url), pd.Timestamp(MONTH).date())[LIST]


def _files(root: Path) -> list[str]:
    return sorted(p.name for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_two_celery_workers_publish_the_list_of_a_single_process(stack: Stack) -> None:
    started = time.perf_counter()
    monthly.run_month(stack.settings, MONTH, "single-process")
    single_seconds = time.perf_counter() - started
    single = _published(stack.settings)

    stack.wait_for(
        "the dag-processor to store rko_monthly_scoring",
        lambda: stack.scalar("SELECT count(*) FROM serialized_dag WHERE dag_id = :d", d=DAG_ID),
        timeout=600,
    )
    # Only the triggered run: the schedule's own run of the latest month is held back.
    with stack.metadata.begin() as conn:
        conn.execute(
            sa.text("UPDATE dag SET is_paused = false, next_dagrun_create_after = NULL WHERE dag_id = :d"),
            {"d": DAG_ID},
        )
    # A manual run for October: the scoring DAG is scheduled on the marts' and champion's Assets, so a
    # manual run scores the month that ended before its logical date (backfills go through rko_feature_marts).
    started = time.perf_counter()
    stack.airflow(
        "dags", "trigger", DAG_ID, "--logical-date", "2026-11-01T03:00:00+00:00",
        "--conf", json.dumps({"partitions": 4}),
    )  # fmt: skip
    run_id = stack.wait_for(
        "the triggered run",
        lambda: stack.scalar("SELECT run_id FROM dag_run WHERE dag_id = :d AND run_type = 'manual'", d=DAG_ID),
        timeout=300,
    )
    state = stack.wait_for(
        "the run to finish",
        lambda: (
            (s := stack.scalar("SELECT state FROM dag_run WHERE run_id = :r", r=run_id)) in ("success", "failed") and s
        ),
        timeout=1500,
    )
    celery_seconds = time.perf_counter() - started
    with stack.metadata.connect() as conn:
        tasks = pd.read_sql(
            sa.text("SELECT task_id, map_index, state, hostname FROM task_instance WHERE run_id = :r"),
            conn,
            params={"r": run_id},
        )
    assert state == "success", tasks.to_string()
    assert len(tasks) == 6 + 4 * 3  # months, wait, plan, publish, record, catch_up + 3 x 4 partitions
    work, catch_up = tasks[tasks["task_id"] != "catch_up"], tasks[tasks["task_id"] == "catch_up"]
    assert set(work["state"]) == {"success"} and catch_up["state"].tolist() == ["skipped"], tasks.to_string()
    assert set(tasks["hostname"]) == set(WORKERS), tasks.to_string()  # both workers ran tasks
    pd.testing.assert_frame_equal(_published(stack.settings), single)  # row for row
    for name in WORKERS:  # the workers' own disks hold no artefact, only their verified copy of the champion
        data = stack.folder / name / "data"
        own = [p.relative_to(data) for p in data.rglob("*") if p.suffix in (".parquet", ".json")]
        assert not [p for p in own if p.parts[:2] != ("cache", "packages")], own
    shared = _files(artifacts.local_path(monthly.run_folder(stack.settings, pd.Timestamp(MONTH).date(), run_id)))
    assert sum(f.startswith("snapshot_p") for f in shared) == 4 and sum(f.startswith("scores_p") for f in shared) == 4
    print(
        f"\nwall time: single process {single_seconds:.1f} s, Celery with 2 workers and 4 partitions "
        f"{celery_seconds:.1f} s (trigger to finished run)"
    )


def test_a_two_month_backfill_of_the_marts_scores_through_the_scheduler(stack: Stack) -> None:
    """`airflow backfill create` of rko_feature_marts for September and October: the scheduler runs the builds
    on the workers, their Asset events trigger scoring, and both months are published, each exactly once.

    The range holds logical dates (the start of each month's interval): 2026-09-01 01:00 and 2026-10-01 01:00.
    The two builds land within a second: Airflow may hand both events to one run (which scores both months)
    or leave the second one to no run (the first run's ``catch_up`` then triggers a run that consumes it).
    """
    import datetime as dt

    from rko_model.warehouse.staging import read_runs

    marts = "rko_feature_marts"
    months = {dt.date(2026, 9, 30), dt.date(2026, 10, 31)}
    for dag_id in (marts, DAG_ID):  # both stored (and so in the dag table) before they are unpaused
        stack.wait_for(
            f"the dag-processor to store {dag_id}",
            lambda dag_id=dag_id: stack.scalar("SELECT count(*) FROM serialized_dag WHERE dag_id = :d", d=dag_id),
            timeout=600,
        )
    with stack.metadata.begin() as conn:  # scoring follows the marts' Asset; the marts' own schedule held back
        conn.execute(sa.text("UPDATE dag SET is_paused = false WHERE dag_id = :d"), {"d": DAG_ID})
        conn.execute(
            sa.text("UPDATE dag SET is_paused = false, next_dagrun_create_after = NULL WHERE dag_id = :d"),
            {"d": marts},
        )
    stack.airflow("backfill", "create", "--dag-id", marts, "--from-date", "2026-09-01", "--to-date", "2026-10-02")

    def backfilled() -> object:
        with stack.metadata.connect() as conn:
            states = conn.execute(
                sa.text("SELECT state FROM dag_run WHERE dag_id = :d AND run_type = 'backfill'"), {"d": marts}
            ).scalars()
            states = list(states)
        return len(states) == 2 and all(s in ("success", "failed") for s in states) and states

    states = stack.wait_for("the two backfill runs of the marts", backfilled, timeout=1200)
    assert states == ["success", "success"], states

    def triggered_runs() -> pd.DataFrame:
        with stack.metadata.connect() as conn:
            return pd.read_sql(
                sa.text("SELECT run_id, state FROM dag_run WHERE dag_id = :d AND run_type = 'asset_triggered'"),
                conn,
                params={"d": DAG_ID},
            )

    def published_by(runs: pd.DataFrame) -> pd.DataFrame:
        """The run metrics of the months those runs scored (a month's run id is the run's, or ``<run id>@YYYY-MM``)."""
        metrics = read_runs(make_staging_engine(stack.settings.staging_url))
        return metrics[metrics["run_id"].str.split("@").str[0].isin(runs["run_id"])]

    def scored() -> object:
        runs = triggered_runs()
        if runs.empty or not runs["state"].isin(["success", "failed"]).all():
            return None
        if (runs["state"] == "failed").any():
            return runs.to_dict("records")  # fails below, naming the runs
        mine = published_by(runs)
        done = set(mine.loc[mine["status"] == "published", "report_date"].dt.date)
        return runs.to_dict("records") if months <= done else None

    runs = pd.DataFrame(stack.wait_for("the Asset-triggered runs to publish September and October", scored, 1500))
    assert set(runs["state"]) == {"success"}, runs.to_string()
    mine = published_by(runs)
    published = mine[mine["status"] == "published"]
    # each month exactly once: one published run row per month, and that run's list is the month's list
    assert sorted(published["report_date"].dt.date) == sorted(months), mine.to_string()
    for row in published.itertuples():
        listed = read_published(make_staging_engine(stack.settings.staging_url), row.report_date.date())
        assert set(listed["run_id"]) == {row.run_id} and len(listed) == row.rows_published
    # every marts event of the backfill was consumed by exactly one scoring run (none by no run, none twice)
    with stack.metadata.connect() as conn:
        consumers = pd.read_sql(
            sa.text(
                "SELECT e.id, count(r.id) AS runs FROM asset_event AS e "
                "LEFT JOIN dagrun_asset_event AS c ON c.event_id = e.id "
                "LEFT JOIN dag_run AS r ON r.id = c.dag_run_id AND r.dag_id = :d "
                "WHERE e.source_dag_id = :m GROUP BY e.id"
            ),
            conn,
            params={"d": DAG_ID, "m": marts},
        )
    assert len(consumers) == 2 and set(consumers["runs"]) == {1}, consumers.to_string()
