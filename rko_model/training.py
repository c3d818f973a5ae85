"""The training run end to end: data from the warehouse, retro tests, a package, a report.

This module wires the pure model functions to the I/O (warehouse, registry, run folders);
the CLI and the retraining DAG call :func:`train_and_report`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine

from rko_model.errors import PackageError
from rko_model.model.dataset import build_dataset, load_truth, plan_from_warehouse
from rko_model.model.package import data_fingerprint, library_versions, reference_distributions, save_package
from rko_model.model.registry import Registry
from rko_model.model.report import render_html
from rko_model.model.retro import RetroResult, run_retro
from rko_model.model.train import TrainParams
from rko_model.settings import Settings

log = logging.getLogger(__name__)

METRICS_FILE = "metrics.json"
PREDICTIONS_FILE = "predictions.parquet"
REPORT_FILE = "report.html"


@dataclass(frozen=True)
class TrainingRun:
    run_id: str
    run_dir: Path
    package_dir: Path
    headline: dict[str, float]


def new_run_id(now: dt.datetime | None = None) -> str:
    """Sortable, unique per second: the run's folder and the package's version."""
    return (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")


def retro_summary(result: RetroResult, test_months: list[str]) -> dict[str, Any]:
    """The retro figures a package carries in its manifest (the registry compares these)."""
    monthly = result.monthly[result.monthly["model"] == "catboost_multimodal"]
    return {
        **result.headline(),
        "test_months": test_months,
        "monthly_gini": dict(zip(monthly["month"], monthly["gini"].round(5), strict=True)),
    }


def train_and_report(
    engine: Engine,
    settings: Settings,
    *,
    n_train: int = 12,
    n_test: int = 6,
    params: TrainParams | None = None,
    ablation: bool = True,
) -> TrainingRun:
    """Build the data, run the retro tests, package the tested model and write the run's report."""
    started = time.perf_counter()
    params = params or TrainParams()
    plan = plan_from_warehouse(engine, settings, n_train=n_train, n_test=n_test)
    log.info(
        "training run: train %s..%s, test %s..%s",
        plan.train_months[0],
        plan.train_months[-1],
        plan.test_months[0],
        plan.test_months[-1],
    )
    train_frame = build_dataset(engine, plan.train_months, settings)
    test_frame = build_dataset(engine, plan.test_months, settings)
    truth = load_truth(engine, plan.test_months, settings)
    result = run_retro(train_frame, test_frame, params, truth, ablation=ablation)

    run_id = new_run_id()
    champion = result.champion
    test_months = [m.isoformat() for m in plan.test_months]
    retro = retro_summary(result, test_months)
    fingerprint = data_fingerprint(train_frame, champion.spec)
    registry = Registry(settings.registry_dir)
    package_dir = save_package(
        champion,
        registry.path_for(run_id),
        version=run_id,
        training_months=[m.isoformat() for m in plan.train_months],
        retro=retro,
        fingerprint=fingerprint,
        reference=reference_distributions(train_frame, champion.predict(train_frame), champion),
    )
    run = {
        "run_id": run_id,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "package_version": run_id,
        "plan": plan.to_dict(),
        "spec": champion.spec.to_dict(),
        "params": params.to_dict(),
        "train_rows": len(train_frame),
        "test_rows": len(test_frame),
        "train_positive_rate": float(train_frame[champion.spec.target].mean()),
        "headline": result.headline(),
        "monthly": result.monthly.to_dict("records"),
        "summary": result.summary.to_dict("records"),
        "ablation": result.ablation.to_dict("records"),
        "business": result.business.to_dict("records"),
        "reliability": result.reliability.to_dict("records"),
        "libraries": library_versions(),
        "data_fingerprint": fingerprint,
        "seconds": round(time.perf_counter() - started, 1),
    }
    run_dir = write_run(settings.runs_dir / run_id, run, result.predictions)
    return TrainingRun(run_id=run_id, run_dir=run_dir, package_dir=package_dir, headline=result.headline())


def write_run(folder: Path, run: dict[str, Any], predictions: pd.DataFrame) -> Path:
    """Write metrics, predictions and the report into ``folder`` at once (a staging folder, renamed)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        (staging / METRICS_FILE).write_text(
            json.dumps(run, indent=1, ensure_ascii=False, default=str), encoding="utf-8"
        )
        predictions.to_parquet(staging / PREDICTIONS_FILE, index=False)
        (staging / REPORT_FILE).write_text(render_html(run, predictions), encoding="utf-8")
        staging.rename(folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log.info("training run %s written to %s", run["run_id"], folder)
    return folder


def runs(settings: Settings) -> list[str]:
    if not settings.runs_dir.is_dir():
        return []
    return sorted(p.name for p in settings.runs_dir.iterdir() if (p / METRICS_FILE).is_file())


def rerender_report(settings: Settings, run_id: str | None = None) -> Path:
    """Redraw the report of ``run_id`` (default: the latest run) from its stored metrics and predictions."""
    known = runs(settings)
    if not known:
        raise PackageError(f"no training runs under {settings.runs_dir}: run `rko train` first")
    run_id = run_id or known[-1]
    if run_id not in known:
        raise PackageError(f"no training run {run_id!r} under {settings.runs_dir}; known: {known}")
    folder = settings.runs_dir / run_id
    run = json.loads((folder / METRICS_FILE).read_text(encoding="utf-8"))
    predictions = pd.read_parquet(folder / PREDICTIONS_FILE)
    report = folder / REPORT_FILE
    partial = report.with_name(REPORT_FILE + ".partial")
    partial.write_text(render_html(run, predictions), encoding="utf-8")
    partial.replace(report)
    return report
