"""The monthly steps under stress, on PostgreSQL: streamed scoring, killed runs, a cut connection, two runs at once.

Each fault is injected for real: a child process is SIGKILLed inside a step, a backend is
terminated with pg_terminate_backend from another connection, two runs race for one month.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from rko_model.errors import MonthBusyError, WarehouseError
from rko_model.model.registry import Registry
from rko_model.runs import monthly
from rko_model.settings import Settings
from rko_model.synth.spec import BankSpec
from rko_model.warehouse.backends._postgresql import PostgreSQLBackend
from rko_model.warehouse.staging import make_staging_engine, read_published, read_runs
from tests.conftest import POSTGRES_URL
from tests.helpers import champion_bank

BANK = BankSpec(n_clients=1200, n_months=20, seed=11)
MONTH = dt.date(2026, 10, 31)
COLUMNS = ["client_id", "score", "rank", "decile", "model_version"]


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A PostgreSQL bank, a champion, and a published list of MONTH (run ``first``)."""
    with champion_bank("postgresql", tmp_path_factory.mktemp("monthly-runs"), BANK) as settings:
        monthly.run_month(settings, MONTH, "first")
        yield settings


def _published(settings: Settings) -> pd.DataFrame:
    return read_published(make_staging_engine(settings.staging_url), MONTH)


def _env(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "RKO_WAREHOUSE_URL": settings.warehouse_url,
        "RKO_STAGING_URL": settings.staging_url,
        "RKO_DATA_DIR": str(settings.data_dir),
    }


def test_scoring_in_chunks_gives_the_scores_of_the_whole(scored: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    planned = monthly.plan(scored)[0]
    extracted = monthly.extract(scored, MONTH, "chunks")
    package = Registry.of(scored).load(planned["model_version"])
    whole = package.score(pd.read_parquet(extracted["snapshot_path"]))
    monkeypatch.setattr(monthly, "CHUNK_ROWS", 97)  # many chunks, the last one short
    extracted = monthly.extract(scored, MONTH, "chunks")
    ref = monthly.score(scored, MONTH, "chunks", extracted, planned["model_version"])
    streamed = pd.read_parquet(ref["scores_path"])
    assert len(streamed) == extracted["rows"] > 97 * 3
    np.testing.assert_allclose(streamed["score"].to_numpy(), whole, rtol=0, atol=1e-12)
    assert sum(ref["bin_counts"]["__score__"]) == extracted["rows"]


# A child that runs the month and blocks inside one step until it is killed.
_CHILD = r"""
import sys, time
from pathlib import Path
from rko_model.runs import monthly
from rko_model.model import package
from rko_model.settings import Settings
from rko_model.warehouse.backends._postgresql import PostgreSQLBackend

step, marker, month = sys.argv[1], Path(sys.argv[2]), sys.argv[3]

def block():
    marker.write_text(step)
    time.sleep(600)

if step == "score":
    package.ModelPackage.score_matrix = lambda self, matrix: block()  # what the score step calls
else:
    real = PostgreSQLBackend.bulk_insert
    def copy_then_block(self, conn, table, frame):
        real(self, conn, table, frame)  # the month is in the load table, the transaction still open
        if table.name == "rko_propensity_load":
            block()
    PostgreSQLBackend.bulk_insert = copy_then_block
monthly.run_month(Settings.from_env(), month, "killed")
"""


@pytest.mark.parametrize("step", ["score", "publish"])
def test_a_run_killed_inside_a_step_leaves_the_list_and_a_rerun_completes_it(
    scored: Settings, tmp_path: Path, step: str
) -> None:
    before = _published(scored)
    marker = tmp_path / "inside"
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, step, str(marker), MONTH.isoformat()],
        env=_env(scored),
        cwd=Path(__file__).parents[2],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 180
        while not marker.exists():
            assert child.poll() is None, child.stderr.read().decode()[-2000:]  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "the child never reached the step"
            time.sleep(0.2)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    pd.testing.assert_frame_equal(before, _published(scored))  # the earlier list, whole
    for _attempt in range(50):  # the server notices the dead client and frees its month lock
        try:
            monthly.run_month(scored, MONTH, f"rerun-{step}")
            break
        except MonthBusyError:
            time.sleep(0.2)
    after = _published(scored)
    assert set(after["run_id"]) == {f"rerun-{step}"}
    pd.testing.assert_frame_equal(before[COLUMNS], after[COLUMNS])
    with make_staging_engine(scored.staging_url).connect() as conn:
        assert conn.exec_driver_sql("SELECT to_regclass('mo_staging.rko_propensity_load')").scalar() is None


def test_a_connection_cut_mid_publish_rolls_back(scored: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _published(scored)
    real = PostgreSQLBackend.bulk_insert
    admin = sa.create_engine(POSTGRES_URL)

    def copy_then_cut(self, conn, table, frame):  # type: ignore[no-untyped-def]
        real(self, conn, table, frame)
        if table.name != "rko_propensity_load":  # the publish's load, not the validation's ids
            return
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        with admin.begin() as other:
            assert other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()

    monkeypatch.setattr(PostgreSQLBackend, "bulk_insert", copy_then_cut)
    with pytest.raises(WarehouseError, match="rolled back; the earlier list stays"):
        monthly.run_month(scored, MONTH, "cut")
    monkeypatch.undo()
    admin.dispose()
    pd.testing.assert_frame_equal(before, _published(scored))
    assert "cut" not in set(read_runs(make_staging_engine(scored.staging_url))["run_id"])
    monthly.run_month(scored, MONTH, "after-cut")
    assert set(_published(scored)["run_id"]) == {"after-cut"}


def test_two_runs_of_a_month_cannot_interleave(scored: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    inside, release = threading.Event(), threading.Event()
    real_score = monthly.score

    def slow_score(*args, **kwargs):  # type: ignore[no-untyped-def]
        inside.set()
        assert release.wait(120)
        return real_score(*args, **kwargs)

    monkeypatch.setattr(monthly, "score", slow_score)
    outcome: dict[str, object] = {}
    first = threading.Thread(target=lambda: outcome.update(first=monthly.run_month(scored, MONTH, "one")))
    first.start()
    try:
        assert inside.wait(120)
        with pytest.raises(MonthBusyError, match="another run is scoring 2026-10-31"):
            monthly.run_month(scored, MONTH, "two")
        with pytest.raises(MonthBusyError):  # the DAG's publish step takes the same lock
            monthly.publish(scored, MONTH, "two", [], validated=[])
    finally:
        release.set()
        first.join(timeout=300)
    assert outcome["first"]["status"] == "published"  # type: ignore[index]
    assert set(_published(scored)["run_id"]) == {"one"}
    assert "two" not in set(read_runs(make_staging_engine(scored.staging_url))["run_id"])


def test_a_run_of_several_months_plans_each_month_and_partition_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Oldest month first, a month given twice planned once, one run id per month; the refs sort back by month."""
    monkeypatch.setattr(
        monthly, "plan", lambda settings, partitions: [{"partition": p, "partitions": partitions, "model_version": "v1"}
                                                       for p in range(partitions)],
    )  # fmt: skip
    settings = Settings.from_env()
    planned = monthly.plan_months(settings, ["2026-10-31", dt.date(2026, 9, 30), "2026-10-31"], "run-1", 2)
    assert [(r["report_date"], r["partition"], r["run_id"]) for r in planned] == [
        ("2026-09-30", 0, "run-1@2026-09"),
        ("2026-09-30", 1, "run-1@2026-09"),
        ("2026-10-31", 0, "run-1@2026-10"),
        ("2026-10-31", 1, "run-1@2026-10"),
    ]
    assert {r["model_version"] for r in planned} == {"v1"}
    assert [r["run_id"] for r in monthly.plan_months(settings, ["2026-10-31"], "run-1")] == ["run-1"]
    assert monthly.plan_months(settings, [], "run-1") == []
    assert monthly.refs_of_month(planned, dt.date(2026, 10, 31)) == planned[2:]
