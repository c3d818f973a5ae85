"""A monitoring database and a registry with a champion, seeded for the dashboard and plugin tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from rko_model.common.dates import add_months
from rko_model.model.package import data_fingerprint, provenance, reference_distributions
from rko_model.model.registry import Registry
from rko_model.model.train import TrainParams, train
from rko_model.warehouse.staging import make_staging_engine, record_performance, record_run

FIRST = dt.date(2025, 11, 30)
MONTHS = [add_months(FIRST, k) for k in range(12)]  # 2025-11 .. 2026-10
FAILED = dt.date(2026, 3, 31)  # validation failed: nothing scored or published, nothing to evaluate
RESCORED = dt.date(2026, 1, 31)  # scored twice (a new champion): the page shows the latest run
BREACH = dt.date(2026, 5, 31)  # realised Gini below the floor
PSI_WARNING = dt.date(2026, 9, 30)


def seeded_runs() -> list[dict[str, object]]:
    runs = []
    for k, month in enumerate(MONTHS):
        psi = 0.14 if month == PSI_WARNING else round(0.01 + 0.004 * k, 4)
        rows = 1000 + 37 * k
        if month == FAILED:
            runs.append(
                {
                    "run_id": f"scheduled__{month}__2",
                    "report_date": month,
                    "status": "failed_validation",
                    "rows_snapshot": 120,
                    "validation_success": 0,
                    "validation_critical": 2,
                    "validation_warnings": 1,
                }
            )
            continue
        if month == RESCORED:
            runs.append(
                {
                    "run_id": f"scheduled__{month}__1",
                    "report_date": month,
                    "model_version": "20251001T000000Z",
                    "status": "published",
                    "rows_snapshot": 900,
                    "rows_scored": 900,
                    "rows_published": 900,
                    "validation_success": 1,
                    "score_psi": 0.3,
                }
            )
        runs.append(
            {
                "run_id": f"scheduled__{month}__2",
                "report_date": month,
                "model_version": "20260101T000000Z",
                "status": "published",
                "rows_snapshot": rows,
                "rows_scored": rows,
                "rows_published": rows,
                "validation_success": 1,
                "validation_critical": 0,
                "validation_warnings": k % 2,
                "score_mean": 0.04,
                "score_psi": psi,
                "feature_psi_max": psi * 2,
            }
        )
    return runs


def seeded_performance() -> list[dict[str, object]]:
    """Months whose window closed by the last month (2026-10): through 2026-07."""
    rows = []
    for k, month in enumerate(MONTHS[:9]):
        if month == FAILED:
            continue
        gini = 0.27 if month == BREACH else round(0.52 + 0.01 * k, 4)
        rows.append(
            {
                "report_date": month,
                "model_version": "20260101T000000Z",
                "run_id": f"scheduled__{month}__2",
                "rows": 1000 + 37 * k,
                "rows_unlabelled": 0,
                "positives": 40 + k,
                "base_rate": (40 + k) / (1000 + 37 * k),
                "gini": gini,
                "lift_top_decile": round(2.0 + 0.1 * k, 3),
                "conversion_top10": round(0.08 + 0.002 * k, 4),
                "score_psi": 0.02,
                "status": "alert" if month == BREACH else "ok",
                "message": f"realised Gini of {month} is 0.270, below the floor 0.300" if month == BREACH else "",
            }
        )
    return rows


def seed_monitoring(staging_url: str) -> None:
    engine = make_staging_engine(staging_url)
    for row in seeded_runs():
        record_run(engine, row)
    for row in seeded_performance():
        record_performance(engine, row)
    engine.dispose()


def seed_champion(registry_dir: Path) -> str:
    """A small model package promoted to champion (the dashboard reads only its manifest)."""
    from tests.model.test_train import _other_product

    frame, spec = _other_product(1500)
    model = train(frame, spec, TrainParams(iterations=30, depth=3, early_stopping_rounds=10))
    version = "20260101T000000Z"
    Registry(registry_dir, registry_dir.parent / "package-cache").add_model(
        model,
        version=version,
        training_months=["2025-01-31", "2025-02-28"],
        retro={"gini_mean": 0.55, "gini_std": 0.02, "test_months": ["2025-03-31"]},
        fingerprint=data_fingerprint(frame, model.spec),
        reference=reference_distributions(frame, model.predict(frame), model),
        provenance=provenance("refit", ["2024-06-30"], ["2024-12-31"], ["2025-01-31", "2025-02-28"]),
    )
    assert Registry(registry_dir, registry_dir.parent / "package-cache").promote(version).promoted
    return version


def latest_runs() -> pd.DataFrame:
    """The seeded runs, the latest per month: what the page's month rows must show."""
    frame = pd.DataFrame(seeded_runs())
    return frame.groupby("report_date").tail(1).set_index("report_date")
