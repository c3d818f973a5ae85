"""The `rko` command line on the embedded SQLite warehouse."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from rko_model import columns as col
from rko_model.cli import main


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RKO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("RKO_WAREHOUSE_URL", raising=False)
    return tmp_path


def test_generate_snapshot_labels(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "--clients", "300", "--months", "8", "--seed", "4"]) == 0
    assert (env / "data" / "warehouse.db").exists()
    assert "payments" in capsys.readouterr().out

    out = env / "snap.csv"
    assert main(["snapshot", "--report-date", "latest", "--out", str(out)]) == 0
    frame = pd.read_csv(out, dtype={"region_code": str})
    assert list(frame.columns) == list(col.SNAPSHOT_COLUMNS)
    assert (frame["report_date"] == "2026-10-31").all()
    assert "snapshot 2026-10-31" in capsys.readouterr().out

    labels = env / "labels.csv"
    assert main(["labels", "--report-date", "latest", "--out", str(labels)]) == 0
    assert (pd.read_csv(labels)["report_date"] == "2026-07-31").all()
    capsys.readouterr()

    # The scoring DAG's logical date for the latest month, and the exports wiring a local Airflow.
    assert main(["logical-date", "--report-date", "latest"]) == 0
    assert capsys.readouterr().out.strip() == "2026-11-01T03:00:00+00:00"
    assert main(["airflow-env"]) == 0
    exports = capsys.readouterr().out
    assert "export AIRFLOW_CONN_RKO_WAREHOUSE=" in exports and "sqlalchemy_url" in exports
    assert f"export AIRFLOW_HOME={env / 'data' / 'airflow'}" in exports


def test_errors_are_one_line_and_exit_2(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = env / "snap.csv"
    assert main(["snapshot", "--report-date", "latest", "--out", str(out)]) == 2
    assert "rko snapshot: error:" in capsys.readouterr().err
    assert main(["generate", "--clients", "100", "--months", "6"]) == 0
    assert main(["snapshot", "--report-date", "2026-10-15", "--out", str(out)]) == 2
    assert "did you mean 2026-10-31" in capsys.readouterr().err
    assert main(["labels", "--report-date", "2026-10-31", "--out", str(out)]) == 2
    assert "latest labelled month: 2026-07-31" in capsys.readouterr().err
    assert not out.exists()  # nothing half-written


def test_performance_of_a_published_month(env: Path, capsys: pytest.CaptureFixture[str], monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    from rko_model.settings import Settings
    from rko_model.stages.labels import extract_labels
    from rko_model.stages.scoring import rank_scores
    from rko_model.warehouse.engine import make_engine
    from rko_model.warehouse.staging import make_staging_engine, publish_month, read_performance

    assert main(["generate", "--clients", "400", "--months", "8", "--seed", "4"]) == 0
    settings = Settings.from_env()
    labels = extract_labels(make_engine(settings.warehouse_url), "2026-07-31", settings)
    score = 0.4 * labels["target"].to_numpy() + np.random.default_rng(0).random(len(labels))
    month = labels["report_date"].iloc[0].date()
    publish_month(
        make_staging_engine(settings.staging_url),
        rank_scores(labels["client_id"], score, month, "v", "r"),
        month,
        settings.sql_dir,
    )
    capsys.readouterr()

    assert main(["performance", "--report-date", "latest"]) == 0  # the latest labelled month: July
    out = capsys.readouterr().out
    stored = read_performance(make_staging_engine(settings.staging_url)).iloc[0]
    assert out.startswith(f"2026-07-31: {len(labels):,d} listed clients, {labels['target'].sum()} opened RKO")
    assert f"realised Gini {stored['gini']:.3f}" in out and "score PSI unknown" in out

    monkeypatch.setenv("RKO_GINI_FLOOR", "1")
    assert main(["performance", "--report-date", "2026-07-31"]) == 2
    assert "rko performance: error: realised Gini of 2026-07-31 is" in capsys.readouterr().err
    assert main(["performance", "--report-date", "2026-06-30"]) == 2
    assert "no list of 2026-06-30" in capsys.readouterr().err


def test_score_refuses_a_partly_loaded_month_unless_forced(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from rko_model.model.registry import Registry
    from rko_model.model.train import TrainParams
    from rko_model.runs.training import train_and_report
    from rko_model.settings import Settings
    from rko_model.warehouse.engine import make_engine
    from rko_model.warehouse.staging import make_staging_engine, read_published, read_runs

    assert main(["generate", "--clients", "500", "--months", "19", "--seed", "4", "--partly-loaded"]) == 0
    assert "its last month 2026-10-31 partly loaded" in capsys.readouterr().out
    settings = Settings.from_env()
    run = train_and_report(
        make_engine(settings.warehouse_url), settings, n_train=2, n_test=1,
        params=TrainParams(iterations=30, depth=4), ablation=False,
    )  # fmt: skip
    assert Registry.of(settings).promote(run.run_id).promoted
    capsys.readouterr()

    assert main(["check", "--report-date", "latest"]) == 3
    assert "readiness: 2026-10-31 is not completely loaded: account_monthly (" in capsys.readouterr().out

    assert main(["score", "--report-date", "latest"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("rko score: error: 2026-10-31 is not completely loaded:")
    assert "payments (" in err and "--force" in err
    assert main(["score", "--report-date", "latest", "--force", "--run-id", "forced-run"]) == 0
    assert "2026-10-31:" in capsys.readouterr().out
    staging = make_staging_engine(settings.staging_url)
    runs = read_runs(staging)
    assert list(runs["run_id"]) == ["forced-run"]  # the refused run left nothing behind
    details = json.loads(runs[runs["run_id"] == "forced-run"].iloc[0]["details"])
    assert details["readiness"]["forced"] is True
    assert set(details["readiness"]["incomplete"]) == {"account_monthly", "digital_activity", "payments"}
    assert len(read_published(staging)) > 0
