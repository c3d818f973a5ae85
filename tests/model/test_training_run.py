"""A whole training run on the shared small bank, on both engines, and the CLI around it."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy.engine import Engine

from rko_model import columns as col
from rko_model.cli import main
from rko_model.model.package import load_package
from rko_model.model.registry import Registry
from rko_model.model.retro import MODELS
from rko_model.model.spec import rko_spec
from rko_model.model.train import TrainParams
from rko_model.runs.training import rerender_report, runs, train_and_report
from rko_model.settings import Settings

TINY_PARAMS = TrainParams(iterations=60, learning_rate=0.2, depth=4, early_stopping_rounds=20)


def test_train_and_report(bank: Engine, bank_settings: Settings, tmp_path: Path) -> None:
    # RKO_REGISTRY_DIR / RKO_RUNS_DIR given as plain paths: local folders outside the artefact root.
    settings = replace(bank_settings, registry_url=str(tmp_path / "registry"), runs_url=str(tmp_path / "runs"))
    run = train_and_report(bank, settings, n_train=3, n_test=2, params=TINY_PARAMS)
    run_dir = tmp_path / "runs" / run.run_id
    assert (
        run.run_url == run_dir.as_uri()
        and run.package_url == (tmp_path / "registry" / "packages" / run.run_id).as_uri()
    )

    metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["plan"]["test_months"] == ["2026-06-30", "2026-07-31"]
    assert metrics["plan"]["train_months"] == ["2026-01-31", "2026-02-28", "2026-03-31"]
    monthly = pd.DataFrame(metrics["monthly"])
    assert set(monthly["model"]) == set(MODELS) and len(monthly) == 2 * len(MODELS)
    assert monthly["ceiling_gini"].between(0.2, 0.95).all()
    assert monthly["oracle_gini"].between(0.2, 1.0).all()  # the second, honest ceiling
    walk = pd.DataFrame(metrics["walk_forward"])
    assert set(walk["strategy"]) == {"frozen", "monthly", "quarterly"} and len(walk) == 3 * 2
    assert {r["source"] for r in metrics["importance_by_source"]} <= set(col.SOURCES)
    assert abs(sum(r["importance"] for r in metrics["importance"]) - 1) < 1e-6
    assert metrics["training"]["refit_on_all_rows"] and metrics["training"]["fit_rows"] == metrics["train_rows"]
    assert [row["added"] for row in metrics["ablation"]] == list(col.SOURCES)  # one step per source, in order
    assert len(metrics["business"]) == 2 and len(metrics["reliability"]) == 20

    report = (run_dir / "report.html").read_text(encoding="utf-8")
    assert report.count("data:image/png;base64,") == 4
    assert "Ablation" in report and "Business effect" in report and "Reliability" not in report[:100]
    assert "recipe refit on the latest 3 labelled months" in report and "What drives the model" in report
    assert "Walk-forward" in report and "oracle" in report

    # The package: the recipe refit on the latest 3 months whose windows closed by the data's end (2026-10-31).
    package = load_package(tmp_path / "registry" / "packages" / run.run_id, expected_spec=rko_spec())
    assert run.packaged == "refit" and package.manifest["packaged"] == "refit"
    assert package.manifest["training_months"] == ["2026-05-31", "2026-06-30", "2026-07-31"]
    assert package.manifest["refit_months"] == package.manifest["training_months"]
    assert package.manifest["retro_months"] == {
        "train": metrics["plan"]["train_months"],
        "test": metrics["plan"]["test_months"],
    }
    assert package.manifest["retro"]["test_months"] == metrics["plan"]["test_months"]
    assert package.manifest["training"]["trees"] == metrics["training"]["trees"]  # the recipe's tree count
    preds = pd.read_parquet(run_dir / "predictions.parquet")
    assert set(MODELS) <= set(preds.columns) and "truth" in preds
    assert sorted(p.name for p in run_dir.iterdir()) == ["metrics.json", "predictions.parquet", "report.html"]

    before = (run_dir / "report.html").stat().st_mtime_ns
    assert rerender_report(settings) == run.report_url == (run_dir / "report.html").as_uri()
    assert (run_dir / "report.html").stat().st_mtime_ns >= before

    # Another worker, with a data folder of its own, sets the same registry and runs: it sees the run and loads
    # the package from its own verified copy.
    other = replace(settings, data_dir=tmp_path / "other-worker")
    assert runs(other) == [run.run_id]
    assert Registry.of(other).load(run.run_id).path.parent == tmp_path / "other-worker" / "cache" / "packages"


def test_cli_train_promote_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("RKO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("RKO_WAREHOUSE_URL", raising=False)
    assert main(["promote"]) == 2
    assert "holds no complete packages" in capsys.readouterr().err
    assert main(["generate", "--clients", "1200", "--months", "20", "--seed", "3"]) == 0
    args = ["train", "--train-months", "2", "--test-months", "1", "--iterations", "40", "--no-ablation"]
    assert main([*args, "--package-retro-model", "--no-walk-forward"]) == 0
    out = capsys.readouterr().out
    assert "mean retro Gini" in out and "the retro-tested model itself (audit)" in out
    registry = Registry(
        tmp_path / "data" / "registry", tmp_path / "cache"
    )  # by default under the artefact root, the data folder
    audit = registry.load(registry.versions()[-1])
    assert audit.manifest["packaged"] == "retro"
    assert audit.manifest["training_months"] == audit.manifest["retro_months"]["train"]
    import time

    time.sleep(1.1)  # run ids are unique per second
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "mean retro Gini" in out and "report:" in out and "refit on the latest labelled months" in out
    assert main(["champion"]) == 3
    told = capsys.readouterr()
    assert told.out == "" and "no champion in file://" in told.err  # stdout holds a version or nothing
    assert main(["promote"]) == 0
    assert "promoted to champion: no champion yet" in capsys.readouterr().out
    assert main(["champion"]) == 0 and capsys.readouterr().out.strip() == registry.versions()[-1]
    assert main(["promote"]) == 3  # the same version again: refused, recorded, non-zero exit
    assert "already the champion" in capsys.readouterr().out
    assert main(["report"]) == 0
    registry = Registry(tmp_path / "data" / "registry", tmp_path / "cache")
    assert len(registry.decisions()) == 2 and registry.champion_version() == registry.versions()[-1]


def test_training_defaults_live_in_one_place() -> None:
    """The CLI, the retraining DAG's params and TrainParams read the same defaults (issue 15)."""
    import ast

    from rko_model.cli import DEFAULT_TRAIN_MONTHS, build_parser
    from rko_model.model import defaults as D
    from rko_model.settings import PROJECT_ROOT

    params = TrainParams()
    assert (params.iterations, params.learning_rate, params.depth, params.negative_share) == (
        D.ITERATIONS,
        D.LEARNING_RATE,
        D.DEPTH,
        D.NEGATIVE_SHARE,
    )
    assert params.negative_share == 1.0 and params.validation == "time"
    train_args = build_parser().parse_args(["train"])
    assert (train_args.iterations, train_args.learning_rate, train_args.depth, train_args.negative_share) == (
        D.ITERATIONS,
        D.LEARNING_RATE,
        D.DEPTH,
        D.NEGATIVE_SHARE,
    )
    # No --train-months means the default window, shortened to what the warehouse holds.
    assert (train_args.train_months, train_args.test_months, train_args.validation) == (
        None,
        D.TEST_MONTHS,
        D.VALIDATION,
    )
    assert DEFAULT_TRAIN_MONTHS == D.TRAIN_MONTHS
    # The DAG's training params take their default values from the defaults module, not literals.
    tree = ast.parse((PROJECT_ROOT / "dags" / "rko_retrain.py").read_text(encoding="utf-8"))
    params_dict = next(
        k.value for n in ast.walk(tree) if isinstance(n, ast.Call) for k in n.keywords if k.arg == "params"
    )
    assert isinstance(params_dict, ast.Dict)
    defaults = {
        ast.literal_eval(k): ast.unparse(v.args[0]) for k, v in zip(params_dict.keys, params_dict.values, strict=False)
    }
    for name in ("train_months", "test_months", "iterations", "learning_rate", "depth", "negative_share", "validation"):
        assert defaults[name] == f"D.{name.upper()}", (name, defaults[name])
