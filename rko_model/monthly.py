"""The monthly scoring run as five steps: extract, validate, score, publish, record.

Each step is a plain function of the settings, the report date and the run id that returns a
small dict of references (paths, counts, figures): the Airflow tasks return these as XCom
and pass them on, and ``rko score`` runs the same steps in a row. DataFrames travel as
Parquet files under ``<data>/monthly/<report date>/<run id>/``, never through XCom.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
from pathlib import Path
from typing import Any

import pandas as pd

from rko_model import columns as col
from rko_model.dates import parse_report_date
from rko_model.errors import ValidationError
from rko_model.exclusions import load_exclusions
from rko_model.late_events import late_events
from rko_model.model.registry import Registry
from rko_model.monitoring import drift, score_distribution
from rko_model.scoring import rank_scores
from rko_model.settings import Settings
from rko_model.snapshot import extract_client_facts, extract_snapshot
from rko_model.validation import validate_snapshot
from rko_model.warehouse.engine import make_engine
from rko_model.warehouse.staging import make_staging_engine, publish_month, read_runs, record_run

log = logging.getLogger(__name__)

STAGING_TABLE = "mo_staging.rko_propensity"
#: Longest warning text carried in XCom and the run metrics (the full text is in the validation result).
MESSAGE_CHARS = 500


def run_folder(settings: Settings, report_date: dt.date, run_id: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", run_id)
    return settings.data_dir / "monthly" / report_date.isoformat() / safe


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    frame.to_parquet(partial, index=False)
    partial.replace(path)


def extract(settings: Settings, report_date: dt.date | str, run_id: str) -> dict[str, Any]:
    report_date = parse_report_date(report_date)
    started = time.perf_counter()
    frame = extract_snapshot(make_engine(settings.warehouse_url), report_date, settings)
    path = run_folder(settings, report_date, run_id) / "snapshot.parquet"
    _write_parquet(frame, path)
    log.info("extract %s: %d clients -> %s", report_date, len(frame), path)
    return {"snapshot_path": str(path), "rows": len(frame), "seconds": round(time.perf_counter() - started, 2)}


def previous_rows(settings: Settings, report_date: dt.date) -> int | None:
    """Rows of the latest earlier month that was published: the row count's yardstick."""
    runs = read_runs(make_staging_engine(settings.staging_url))
    if runs.empty:
        return None
    earlier = runs[(runs["status"] == "published") & (runs["report_date"] < pd.Timestamp(report_date))]
    if earlier.empty:
        return None
    return int(earlier.sort_values(["report_date", "recorded_at"]).iloc[-1]["rows_snapshot"])


def validate(settings: Settings, report_date: dt.date | str, run_id: str, snapshot_path: str) -> dict[str, Any]:
    """Run the GX suite; on a critical failure record the run as failed and raise ValidationError."""
    report_date = parse_report_date(report_date)
    started = time.perf_counter()
    frame = pd.read_parquet(snapshot_path)
    engine = make_engine(settings.warehouse_url)
    facts = extract_client_facts(engine, report_date, settings, frame[col.CLIENT_ID].to_numpy())
    outcome = validate_snapshot(
        frame,
        facts,
        load_exclusions(settings.okved_exclusions_path),
        report_date.isoformat(),
        previous_rows=previous_rows(settings, report_date),
        artifact_dir=run_folder(settings, report_date, run_id),
        extra_warnings=[e.message(report_date) for e in late_events(engine, settings, report_date)],
    )
    ref = {
        "success": outcome.success,
        "critical": len(outcome.critical_failures),
        "warnings": len(outcome.warnings),
        "warning_messages": [m[:MESSAGE_CHARS] for m in outcome.warnings],
        "result_path": outcome.result_path,
        "seconds": round(time.perf_counter() - started, 2),
    }
    if not outcome.success:
        record(
            settings,
            report_date,
            run_id,
            status="failed_validation",
            extract_ref={"rows": len(frame)},
            validate_ref=ref,
        )
        raise ValidationError(outcome.summary())
    return ref


def score(settings: Settings, report_date: dt.date | str, run_id: str, snapshot_path: str) -> dict[str, Any]:
    """Score with the registry's champion; write the ranked list; measure drift against its reference."""
    report_date = parse_report_date(report_date)
    started = time.perf_counter()
    package = Registry(settings.registry_dir).champion()
    frame = pd.read_parquet(snapshot_path)
    scores = package.score(frame)
    ranked = rank_scores(frame[col.CLIENT_ID].to_numpy(), scores, report_date, package.version, run_id)
    path = run_folder(settings, report_date, run_id) / "scores.parquet"
    _write_parquet(ranked, path)
    figures = {**score_distribution(scores), **drift(frame, scores, package.reference)}
    log.info(
        "score %s: %d clients with model %s, mean %.4f, score PSI %.3f",
        report_date,
        len(ranked),
        package.version,
        figures["score_mean"] or 0.0,
        figures["score_psi"],
    )
    return {
        "scores_path": str(path),
        "rows": len(ranked),
        "model_version": package.version,
        **figures,
        "seconds": round(time.perf_counter() - started, 2),
    }


def publish(settings: Settings, report_date: dt.date | str, scores_path: str) -> dict[str, Any]:
    """Replace the month in the optimizer's staging table, in one transaction."""
    report_date = parse_report_date(report_date)
    started = time.perf_counter()
    ranked = pd.read_parquet(scores_path)
    rows = publish_month(make_staging_engine(settings.staging_url), ranked, report_date, settings.sql_dir)
    return {"table": STAGING_TABLE, "rows": rows, "seconds": round(time.perf_counter() - started, 2)}


def record(
    settings: Settings,
    report_date: dt.date | str,
    run_id: str,
    *,
    status: str = "published",
    extract_ref: dict[str, Any] | None = None,
    validate_ref: dict[str, Any] | None = None,
    score_ref: dict[str, Any] | None = None,
    publish_ref: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One row of run metrics: rows at each step, validation, score distribution, drift, durations."""
    report_date = parse_report_date(report_date)
    extract_ref, validate_ref = extract_ref or {}, validate_ref or {}
    score_ref, publish_ref = score_ref or {}, publish_ref or {}
    details = {
        "seconds": {
            name: ref.get("seconds")
            for name, ref in (
                ("extract", extract_ref),
                ("validate", validate_ref),
                ("score", score_ref),
                ("publish", publish_ref),
            )
        },
        "feature_psi": score_ref.get("feature_psi"),
        "histogram": score_ref.get("histogram"),
        "validation_result": validate_ref.get("result_path"),
        "warnings": [*validate_ref.get("warning_messages", []), *score_ref.get("warnings", [])],
        "unseen_categories": score_ref.get("unseen_categories"),
        "snapshot_path": extract_ref.get("snapshot_path"),
    }
    row = {
        "run_id": run_id,
        "report_date": report_date,
        "model_version": score_ref.get("model_version"),
        "status": status,
        "rows_snapshot": extract_ref.get("rows"),
        "rows_scored": score_ref.get("rows"),
        "rows_published": publish_ref.get("rows"),
        "validation_success": None if not validate_ref else int(bool(validate_ref.get("success"))),
        "validation_critical": validate_ref.get("critical"),
        "validation_warnings": validate_ref.get("warnings"),
        "score_mean": score_ref.get("score_mean"),
        "score_p50": score_ref.get("score_p50"),
        "score_p90": score_ref.get("score_p90"),
        "score_psi": score_ref.get("score_psi"),
        "feature_psi_max": score_ref.get("feature_psi_max"),
        "details": json.dumps(details, ensure_ascii=False, default=str),
    }
    record_run(make_staging_engine(settings.staging_url), row)
    return {"status": status, "rows_published": row["rows_published"], "score_psi": row["score_psi"]}


def run_month(settings: Settings, report_date: dt.date | str, run_id: str) -> dict[str, Any]:
    """All five steps in a row, as the DAG runs them (used by ``rko score``)."""
    report_date = parse_report_date(report_date)
    extracted = extract(settings, report_date, run_id)
    validated = validate(settings, report_date, run_id, extracted["snapshot_path"])
    scored = score(settings, report_date, run_id, extracted["snapshot_path"])
    published = publish(settings, report_date, scored["scores_path"])
    return record(
        settings,
        report_date,
        run_id,
        extract_ref=extracted,
        validate_ref=validated,
        score_ref=scored,
        publish_ref=published,
    )
