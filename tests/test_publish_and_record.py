"""Publish and record as one unit, on both engines: a month that went out is never reported failed nor redone.

The list and its run row (status published) are written in one transaction; the record step
after it is idempotent and retried on its own; a retried publish or a rerun of the same run id
finds the month published by that run and publishes nothing again.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pandas as pd
import pytest
from sqlalchemy.engine import Engine

from rko_model.cli import main
from rko_model.errors import ValidationError, WarehouseError
from rko_model.runs import monthly
from rko_model.settings import Settings
from rko_model.synth.spec import BankSpec
from rko_model.warehouse.query import read_frame
from rko_model.warehouse.staging import (
    ensure_tables,
    make_staging_engine,
    published_by,
    read_runs,
    rko_publication,
)
from tests.conftest import ENGINES
from tests.helpers import champion_bank

BANK = BankSpec(n_clients=500, n_months=20, seed=21)
MONTH = dt.date(2026, 10, 31)


@pytest.fixture(scope="module", params=ENGINES)
def bench(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    with champion_bank(request.param, tmp_path_factory.mktemp(f"publish-{request.param}"), BANK) as settings:
        yield settings


def _month(settings: Settings) -> pd.DataFrame:
    """Every column of the month's published rows, the load time included."""
    engine = make_staging_engine(settings.staging_url)
    try:
        return read_frame(
            engine, "SELECT * FROM mo_staging.rko_propensity WHERE report_date = :d ORDER BY rank", {"d": MONTH}
        )
    finally:
        engine.dispose()


def _runs(settings: Settings) -> pd.DataFrame:
    engine = make_staging_engine(settings.staging_url)
    try:
        return read_runs(engine)
    finally:
        engine.dispose()


def test_a_rerun_of_a_published_run_id_publishes_nothing_again(bench: Settings) -> None:
    first = monthly.run_month(bench, MONTH, "once")
    assert first["status"] == "published" and first["rows_published"] > 100
    before = _month(bench)
    again = monthly.run_month(bench, MONTH, "once")
    assert again["already_published"] and again["rows_published"] == first["rows_published"]
    pd.testing.assert_frame_equal(_month(bench), before)  # the load time too: not republished
    runs = _runs(bench)
    assert runs[runs["run_id"] == "once"]["status"].tolist() == ["published"]


def test_a_retried_publish_task_returns_what_went_out(bench: Settings) -> None:
    """The DAG's publish retried after its transaction committed (the worker died before reporting)."""
    version = monthly.plan(bench)[0]["model_version"]
    extracted = monthly.extract(bench, MONTH, "dag-run")
    validated = monthly.validate(bench, MONTH, "dag-run", extracted)
    scored = monthly.score(bench, MONTH, "dag-run", validated, version)
    published = monthly.publish(bench, MONTH, "dag-run", [scored], validated=[validated])
    before = _month(bench)
    retried = monthly.publish(bench, MONTH, "dag-run", [scored], validated=[validated])
    assert retried["already_published"] and retried["rows"] == published["rows"]
    assert retried["score_psi"] == pytest.approx(published["score_psi"])
    pd.testing.assert_frame_equal(_month(bench), before)
    engine = make_staging_engine(bench.staging_url)
    assert published_by(engine, MONTH) == "dag-run"
    engine.dispose()
    monthly.record(
        bench, MONTH, "dag-run", extracted=[extracted], validated=[validated], scored=[scored], published=retried
    )
    row = _runs(bench).set_index("run_id").loc["dag-run"]
    assert row["status"] == "published" and row["rows_snapshot"] == extracted["rows"]


def test_scores_go_out_only_with_a_passing_validation_of_their_snapshot(bench: Settings) -> None:
    """Publish is given the partitions' validations and refuses a scored snapshot none of them passed."""
    version = monthly.plan(bench)[0]["model_version"]
    extracted = monthly.extract(bench, MONTH, "unchecked")
    scored = monthly.score(bench, MONTH, "unchecked", extracted, version)  # scored before any validation
    validated = monthly.validate(bench, MONTH, "unchecked", extracted)
    assert validated["success"] and scored["rows"] == extracted["rows"]
    before = _month(bench)
    failed = {**validated, "success": False}
    other = {**validated, "snapshot_path": validated["snapshot_path"].replace("unchecked", "elsewhere")}
    for given in ([], [failed], [other]):
        with pytest.raises(ValidationError, match="p0of1 were scored from snapshots without a passing validation"):
            monthly.publish(bench, MONTH, "unchecked", [scored], validated=given)
    pd.testing.assert_frame_equal(_month(bench), before)  # nothing went out
    assert "unchecked" not in set(_runs(bench)["run_id"])
    published = monthly.publish(bench, MONTH, "unchecked", [scored], validated=[validated])
    assert published["rows"] == extracted["rows"] and published_by(make_staging_engine(bench.staging_url), MONTH)


def test_a_failing_record_step_never_reports_the_month_failed(
    bench: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The record step after the publish fails (a busy monitoring database): retried alone, then a warning, exit 0."""
    calls = []
    record_run = monthly.record_run

    def busy(*args: object, **kwargs: object) -> None:
        calls.append(1)
        raise WarehouseError("recording run busy-record failed and was rolled back: database is locked")

    monkeypatch.setattr(monthly, "record_run", busy)
    monkeypatch.setattr(monthly, "RECORD_PAUSE_SECONDS", 0.01)
    for key, value in {
        "RKO_DATA_DIR": str(bench.data_dir),
        "RKO_WAREHOUSE_URL": bench.warehouse_url,
        "RKO_STAGING_URL": bench.staging_url,
        "RKO_REGISTRY_DIR": bench.registry_url,
    }.items():
        monkeypatch.setenv(key, value)
    assert main(["score", "--report-date", MONTH.isoformat(), "--run-id", "busy-record"]) == 0
    assert len(calls) == monthly.RECORD_ATTEMPTS  # retried on its own, never by republishing
    err = capsys.readouterr().err
    assert "rko score: warning: 2026-10-31 is published, but its run metrics were not fully recorded" in err
    assert "Traceback" not in err
    runs = _runs(bench)
    assert runs[runs["run_id"] == "busy-record"]["status"].tolist() == ["published"]  # written with the list
    assert set(_month(bench)["run_id"]) == {"busy-record"}
    monkeypatch.setattr(monthly, "record_run", record_run)  # the database answers again
    before = _month(bench)
    assert main(["score", "--report-date", MONTH.isoformat(), "--run-id", "busy-record"]) == 0  # records, only
    pd.testing.assert_frame_equal(_month(bench), before)


def test_two_concurrent_rko_score_runs_of_a_month_publish_once(bench: Settings) -> None:
    """Two `rko score` processes of one month (they both used to record "published" on SQLite): the second stops."""
    env = {
        **os.environ,
        "RKO_DATA_DIR": str(bench.data_dir),
        "RKO_WAREHOUSE_URL": bench.warehouse_url,
        "RKO_STAGING_URL": bench.staging_url,
        "RKO_REGISTRY_DIR": bench.registry_url,
    }
    command = [sys.executable, "-m", "rko_model.cli", "score", "--report-date", MONTH.isoformat(), "--run-id"]
    first = subprocess.Popen([*command, "run-a"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    engine = make_staging_engine(bench.staging_url)
    try:
        while _claimed_by(engine) != "run-a":  # run A holds the month (it claims it right after taking its lock)
            assert first.poll() is None, first.communicate()
            time.sleep(0.2)
        second = subprocess.run([*command, "run-b"], env=env, capture_output=True, text=True, timeout=600)
        _, err = first.communicate(timeout=900)
    finally:
        if first.poll() is None:
            first.kill()
    assert second.returncode == 75, second.stderr
    errors = [line for line in second.stderr.splitlines() if "error:" in line]
    assert errors == [
        "rko score: error: another run is scoring 2026-10-31 right now; run run-b did not start (rerun it when that "
        "ends) (temporary: try again later)"
    ]
    assert first.returncode == 0, err
    assert published_by(engine, MONTH) == "run-a" and set(_month(bench)["run_id"]) == {"run-a"}
    runs = _runs(bench)
    assert "run-b" not in set(runs["run_id"]) and runs[runs["run_id"] == "run-a"]["status"].tolist() == ["published"]
    engine.dispose()


def _claimed_by(engine: Engine) -> str | None:
    with engine.begin() as conn:
        ensure_tables(conn)
        row = conn.execute(rko_publication.select().where(rko_publication.c.report_date == MONTH)).first()
    return None if row is None else row.claimed_by
