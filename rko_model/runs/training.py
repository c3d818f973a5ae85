"""The training run end to end: data from the warehouse, retro tests, a package, a report.

This module wires the pure model functions to the I/O (warehouse, registry, run folders);
the CLI and the retraining DAG call :func:`train_and_report`. The package and the run's files
go to the artefact store (``Settings.registry_url``, ``Settings.runs_url``): the worker that
trains and the one that promotes or scores need not share a disk.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import time
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine

from rko_model import columns as col
from rko_model.common.dates import add_months
from rko_model.errors import PackageError
from rko_model.model import defaults as D
from rko_model.model.dataset import build_dataset, load_oracle, load_truth, plan_from_warehouse
from rko_model.model.package import (
    data_fingerprint,
    library_versions,
    provenance,
    reference_distributions,
)
from rko_model.model.registry import Registry
from rko_model.model.report import render_html
from rko_model.model.retro import RetroResult, importance_by_source, run_retro
from rko_model.model.train import TrainedModel, TrainParams, train
from rko_model.model.walkforward import labelled_by, run_walk_forward
from rko_model.model.walkforward import summarise as summarise_walk_forward
from rko_model.settings import Settings
from rko_model.storage import artifacts

log = logging.getLogger(__name__)

METRICS_FILE = "metrics.json"
PREDICTIONS_FILE = "predictions.parquet"
REPORT_FILE = "report.html"


@dataclass(frozen=True)
class TrainingRun:
    """A finished training run: where its files and its package are in the artefact store (URLs)."""

    run_id: str
    run_url: str
    package_url: str
    headline: dict[str, float]
    packaged: str = "refit"

    @property
    def report_url(self) -> str:
        return artifacts.join(self.run_url, REPORT_FILE)


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


def refit_months(test_months: tuple[dt.date, ...], n_train: int) -> tuple[dt.date, ...]:
    """The latest ``n_train`` months whose 3-month windows have closed: the package's training months."""
    return labelled_by(add_months(max(test_months), col.LABEL_HORIZON_MONTHS), n_train)


def refit_package_model(frame: pd.DataFrame, tested: TrainedModel) -> TrainedModel:
    """The tested recipe, refit on ``frame`` with the tree count the out-of-time validation chose."""
    return train(frame, tested.spec, replace(tested.params, fixed_iterations=tested.iterations))


def train_and_report(
    engine: Engine,
    settings: Settings,
    *,
    n_train: int = D.TRAIN_MONTHS,
    n_test: int = D.TEST_MONTHS,
    params: TrainParams | None = None,
    ablation: bool = D.ABLATION,
    walk_forward: bool = D.WALK_FORWARD,
    package_retro_model: bool = False,
    as_of: dt.date | None = None,
) -> TrainingRun:
    """Validate the recipe out of time, refit it on the latest labelled months, package it, write the report.

    ``package_retro_model`` packages the retro-tested model itself instead (for audit); ``as_of``
    trains as if nothing after that month were known (see :func:`plan_from_warehouse`).
    """
    started = time.perf_counter()
    params = params or TrainParams()
    plan = plan_from_warehouse(engine, settings, n_train=n_train, n_test=n_test, as_of=as_of)
    refit = refit_months(plan.test_months, n_train)
    log.info(
        "training run: train %s..%s, test %s..%s, package refit on %s..%s",
        plan.train_months[0],
        plan.train_months[-1],
        plan.test_months[0],
        plan.test_months[-1],
        refit[0],
        refit[-1],
    )
    frames = stacked_months(engine, settings, plan.train_months, plan.test_months, refit, walk_forward, n_train)
    train_frame = frames.of(plan.train_months)
    test_frame = frames.of(plan.test_months)
    truth = load_truth(engine, plan.test_months, settings)
    oracle = load_oracle(engine, plan.test_months, settings)
    result = run_retro(train_frame, test_frame, params, truth, ablation=ablation, oracle=oracle)
    tested = result.champion
    walk = pd.DataFrame()
    if walk_forward:
        first_needed = labelled_by(plan.test_months[0], n_train)
        if tuple(first_needed) == tuple(plan.train_months):
            walk = run_walk_forward(frames.all, tested, plan.test_months, n_train)
        else:
            log.warning("walk-forward skipped: the warehouse holds fewer than %d training months", n_train)

    run_id = new_run_id()
    test_months = [m.isoformat() for m in plan.test_months]
    retro = retro_summary(result, test_months)
    if package_retro_model:
        packaged, package_frame, model = "retro", train_frame, tested
    else:
        packaged, package_frame = "refit", frames.of(refit)
        log.info("package: refit the recipe on %d rows of %s..%s", len(package_frame), refit[0], refit[-1])
        model = refit_package_model(package_frame, tested)
    fingerprint = data_fingerprint(package_frame, model.spec)
    package_months = [m.isoformat() for m in (refit if packaged == "refit" else plan.train_months)]
    package_url = Registry.of(settings).add_model(
        model,
        version=run_id,
        training_months=package_months,
        retro=retro,
        fingerprint=fingerprint,
        reference=reference_distributions(package_frame, model.predict(package_frame), model),
        provenance=provenance(
            packaged,
            [m.isoformat() for m in plan.train_months],
            test_months,
            [m.isoformat() for m in refit],
        ),
    )
    run = {
        "run_id": run_id,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "package_version": run_id,
        "plan": plan.to_dict(),
        "package": {
            "packaged": packaged,
            "training_months": package_months,
            "refit_months": [m.isoformat() for m in refit],
            "rows": len(package_frame),
            "trees": model.iterations,
        },
        "spec": tested.spec.to_dict(),
        "params": params.to_dict(),
        "training": tested.summary(),
        "train_rows": len(train_frame),
        "test_rows": len(test_frame),
        "train_positive_rate": float(train_frame[tested.spec.target].mean()),
        "headline": result.headline(),
        "monthly": result.monthly.to_dict("records"),
        "summary": result.summary.to_dict("records"),
        "ablation": result.ablation.to_dict("records"),
        "business": result.business.to_dict("records"),
        "reliability": result.reliability.to_dict("records"),
        "importance": result.importance.to_dict("records"),
        "importance_by_source": importance_by_source(result.importance).to_dict("records"),
        "walk_forward": walk.to_dict("records"),
        "walk_forward_summary": summarise_walk_forward(walk).to_dict("records") if len(walk) else [],
        "libraries": library_versions(),
        "data_fingerprint": fingerprint,
        "seconds": round(time.perf_counter() - started, 1),
    }
    run_url = write_run(artifacts.join(settings.runs_url, run_id), run, result.predictions)
    return TrainingRun(
        run_id=run_id, run_url=run_url, package_url=package_url, headline=result.headline(), packaged=packaged
    )


@dataclass(frozen=True)
class StackedMonths:
    """Labelled snapshots of every month a run needs, stacked once and sliced by month."""

    all: pd.DataFrame
    spec_date: str

    def of(self, months: tuple[dt.date, ...]) -> pd.DataFrame:
        dates = pd.to_datetime(self.all[self.spec_date]).dt.date
        return self.all[dates.isin(months).to_numpy()].reset_index(drop=True)


def stacked_months(
    engine: Engine,
    settings: Settings,
    train_months: tuple[dt.date, ...],
    test_months: tuple[dt.date, ...],
    refit: tuple[dt.date, ...],
    walk_forward: bool,
    n_train: int,
) -> StackedMonths:
    """Build each month once: retro training and test months, the refit months, the walk-forward months."""
    months = set(train_months) | set(test_months) | set(refit)
    if walk_forward:
        for month in test_months:
            months |= set(labelled_by(month, n_train))
    first = min(train_months)
    months = {m for m in months if m >= first}
    frame = build_dataset(engine, sorted(months), settings)
    return StackedMonths(all=frame, spec_date=col.REPORT_DATE)


def write_run(run_url: str, run: dict[str, Any], predictions: pd.DataFrame) -> str:
    """Write the predictions, the report and the metrics under ``run_url``, each file atomically.

    ``metrics.json`` goes last: a run is listed (:func:`runs`) only once all of its files are
    there, on a local folder as on an object store, which has no folder to rename into place.
    """
    buffer = io.BytesIO()
    predictions.to_parquet(buffer, index=False)
    artifacts.write_bytes(buffer.getvalue(), artifacts.join(run_url, PREDICTIONS_FILE))
    artifacts.write_bytes(render_html(run, predictions).encode("utf-8"), artifacts.join(run_url, REPORT_FILE))
    metrics = json.dumps(run, indent=1, ensure_ascii=False, default=str)
    artifacts.write_bytes(metrics.encode("utf-8"), artifacts.join(run_url, METRICS_FILE))
    log.info("training run %s written to %s", run["run_id"], run_url)
    return run_url


def runs(settings: Settings) -> list[str]:
    """The ids of the complete training runs under ``settings.runs_url``, oldest first."""
    return sorted(
        name.split("/", 1)[0]
        for name in artifacts.files(settings.runs_url)
        if name.count("/") == 1 and name.endswith("/" + METRICS_FILE)
    )


def rerender_report(settings: Settings, run_id: str | None = None) -> str:
    """Redraw the report of ``run_id`` (default: the latest run) from its stored metrics and predictions; its URL."""
    known = runs(settings)
    if not known:
        raise PackageError(f"no training runs under {settings.runs_url}: run `rko train` first")
    run_id = run_id or known[-1]
    if run_id not in known:
        raise PackageError(f"no training run {run_id!r} under {settings.runs_url}; known: {known}")
    run_url = artifacts.join(settings.runs_url, run_id)
    run = json.loads(artifacts.read_bytes(artifacts.join(run_url, METRICS_FILE)).decode("utf-8"))
    predictions = artifacts.read_parquet(artifacts.join(run_url, PREDICTIONS_FILE))
    report = artifacts.join(run_url, REPORT_FILE)
    return artifacts.write_bytes(render_html(run, predictions).encode("utf-8"), report)
