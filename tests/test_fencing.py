"""Fencing on both engines: a run that lost its hold on a month never publishes inside another run's window.

The PostgreSQL case replays the attack of issue 12: run A holds the month, only A's lock
backend is killed with ``pg_terminate_backend``, run B starts and claims the month; A's
publish is refused with MonthBusyError and publishes nothing, B publishes, and A ends
without a traceback at the unlock. SQLite's hold is a lock file: removing it is the same loss.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from rko_model.errors import InvalidInputError, MonthBusyError
from rko_model.settings import Settings
from rko_model.stages.scoring import rank_scores
from rko_model.warehouse.backends._postgresql import MONTH_LOCK_NAMESPACE
from rko_model.warehouse.staging import (
    hold_month,
    make_staging_engine,
    publish_month,
    published_by,
    read_published,
    read_runs,
    record_run,
)
from tests.conftest import ENGINES, POSTGRES_URL, need_postgres
from tests.helpers import reset_postgres_staging

MONTH = dt.date(2026, 10, 31)
SQL_DIR = Settings.from_env({}).sql_dir


@pytest.fixture(params=ENGINES)
def staging(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = make_staging_engine(f"sqlite:///{tmp_path / 'mo_staging.db'}")
    else:
        need_postgres()
        reset_postgres_staging(POSTGRES_URL)
        engine = make_staging_engine(POSTGRES_URL)
    yield engine
    engine.dispose()


def _ranked(n: int, run_id: str) -> pd.DataFrame:
    rng = np.random.default_rng(n)
    return rank_scores(np.arange(n) + 1, rng.random(n), MONTH, "v1", run_id)


def _lose_the_lock(engine: Engine) -> None:
    """What an operator or a network fault does to run A: its lock goes while A goes on."""
    if engine.dialect.name == "postgresql":
        admin = sa.create_engine(POSTGRES_URL)
        held = sa.text(
            "SELECT l.pid FROM pg_locks AS l JOIN pg_database AS d ON d.oid = l.database "
            "WHERE l.locktype = 'advisory' AND l.granted AND d.datname = current_database() "
            "AND l.classid = :namespace AND l.objid = :month"
        )
        key = {"namespace": MONTH_LOCK_NAMESPACE, "month": int(MONTH.strftime("%Y%m%d"))}
        with admin.begin() as conn:  # only this database's month lock, not other sessions' advisory locks
            pids = [row[0] for row in conn.execute(held, key)]
            killed = [conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar() for pid in pids]
        # pg_terminate_backend only signals: the backend lets go of its locks when it has exited.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with admin.connect() as conn:
                if not conn.execute(held, key).first():
                    break
            time.sleep(0.05)
        admin.dispose()
        assert killed == [True]
    else:
        with engine.connect() as conn:
            files = {row[1]: row[2] for row in conn.exec_driver_sql("PRAGMA database_list")}
        lock = Path(files["mo_staging"]).with_name("mo_staging.db.locks") / f"{MONTH.isoformat()}.lock"
        lock.unlink()


def test_a_run_that_lost_its_lock_publishes_nothing(staging: Engine, caplog: pytest.LogCaptureFixture) -> None:
    publish_month(staging, _ranked(30, "earlier"), MONTH, SQL_DIR)
    with caplog.at_level(logging.WARNING), hold_month(staging, MONTH, "run-a") as a:
        _lose_the_lock(staging)
        with hold_month(staging, MONTH, "run-b") as b:  # B takes the month while A goes on
            assert b.token > a.token
            with pytest.raises(MonthBusyError, match=r"run run-a lost its hold on 2026-10-31: run run-b claimed"):
                publish_month(staging, _ranked(50, "run-a"), MONTH, SQL_DIR, hold=a, run_row=_row("run-a"))
            assert set(read_published(staging, MONTH)["run_id"]) == {"earlier"}  # A published nothing
            assert publish_month(staging, _ranked(40, "run-b"), MONTH, SQL_DIR, hold=b, run_row=_row("run-b")) == 40
    published = read_published(staging, MONTH)
    assert len(published) == 40 and set(published["run_id"]) == {"run-b"}
    assert published_by(staging, MONTH) == "run-b"
    assert read_runs(staging)["run_id"].tolist() == ["run-b"]  # A recorded nothing either


def test_the_stale_token_is_refused_even_after_the_newer_run_published(staging: Engine) -> None:
    with hold_month(staging, MONTH, "run-a") as a:
        _lose_the_lock(staging)
        with hold_month(staging, MONTH, "run-b") as b:
            publish_month(staging, _ranked(40, "run-b"), MONTH, SQL_DIR, hold=b)
        with pytest.raises(MonthBusyError) as caught:
            publish_month(staging, _ranked(50, "run-a"), MONTH, SQL_DIR, hold=a)
    assert not caught.value.transient  # a fenced run is not retried over the newer list
    assert set(read_published(staging, MONTH)["run_id"]) == {"run-b"}


def test_a_second_run_of_a_held_month_does_not_start(staging: Engine) -> None:
    with (
        hold_month(staging, MONTH, "run-a"),
        pytest.raises(MonthBusyError, match="another run is scoring") as caught,
        hold_month(staging, MONTH, "run-b"),
    ):
        pass
    assert caught.value.transient  # wait for the other run, then retry
    with hold_month(staging, MONTH, "run-c") as c:  # released when run A ended
        assert publish_month(staging, _ranked(10, "run-c"), MONTH, SQL_DIR, hold=c) == 10


def test_a_token_publishes_once(staging: Engine) -> None:
    with hold_month(staging, MONTH, "run-a") as a:
        publish_month(staging, _ranked(10, "run-a"), MONTH, SQL_DIR, hold=a)
        with pytest.raises(MonthBusyError):
            publish_month(staging, _ranked(12, "run-a"), MONTH, SQL_DIR, hold=a)
    assert len(read_published(staging, MONTH)) == 10


def _row(run_id: str, month: dt.date = MONTH) -> dict[str, object]:
    return {"run_id": run_id, "report_date": month, "status": "published"}


def test_list_and_run_row_go_out_together(staging: Engine) -> None:
    """A run row that cannot be written (a run id of another month) rolls the list back too."""
    record_run(staging, _row("base", dt.date(2026, 9, 30)))
    with pytest.raises(InvalidInputError, match="run id base already names the run of 2026-09-30"):
        publish_month(staging, _ranked(10, "base"), MONTH, SQL_DIR, run_row=_row("base"))
    assert read_published(staging, MONTH).empty
    assert pd.to_datetime(read_runs(staging)["report_date"]).tolist() == [pd.Timestamp(2026, 9, 30)]


def test_a_reused_run_id_never_deletes_another_months_row(staging: Engine) -> None:
    record_run(staging, _row("base"))
    with pytest.raises(InvalidInputError, match="a run id names one month"):
        record_run(staging, _row("base", dt.date(2026, 9, 30)))
    record_run(staging, {**_row("base"), "rows_published": 7})  # the same month: replaced, once
    runs = read_runs(staging)
    assert pd.to_datetime(runs["report_date"]).tolist() == [pd.Timestamp(MONTH)]
    assert runs["rows_published"].tolist() == [7]
