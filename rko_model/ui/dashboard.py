"""What the monitoring page shows: month by month, the scoring runs and the realised performance, and the champion.

One read function gathers it from the monitoring tables and the registry into a frozen
:class:`MonitoringView`; rendering (``rko_model.ui.dashboard_page``) and the Airflow plugin only
read that view.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

import pandas as pd

from rko_model.errors import PackageError
from rko_model.pilot.store import read_pilot_results
from rko_model.settings import Settings
from rko_model.warehouse.staging import make_staging_engine, read_performance, read_runs

log = logging.getLogger(__name__)

#: The realised-performance columns of a month (empty until its window has closed).
_PERFORMANCE = (
    "rows_evaluated",
    "positives",
    "gini",
    "lift_top_decile",
    "conversion_top10",
    "performance_status",
    "performance_message",
)

#: Columns of :attr:`MonitoringView.months`, in order.
MONTH_COLUMNS = (
    "report_date",
    "run_id",
    "runs",
    "run_status",
    "model_version",
    "rows_snapshot",
    "rows_scored",
    "rows_published",
    "validation_success",
    "validation_critical",
    "validation_warnings",
    "score_psi",
    "feature_psi_max",
    "recorded_at",
    *_PERFORMANCE,
)


@dataclass(frozen=True)
class MonitoringView:
    """Everything the page draws, read at one moment.

    ``months`` holds one row per report date, oldest first: the figures of the month's latest
    scoring run (``runs`` counts them all) and, once its window has closed and the month was
    evaluated, its realised performance.
    """

    months: pd.DataFrame
    champion_version: str | None
    champion_manifest: dict[str, Any] | None
    champion_problem: str | None
    gini_floor: float
    psi_warn: float
    psi_alert: float
    read_at: dt.datetime
    #: The pilot's measured lines (rko_monitoring.rko_pilot_results), one row per month and line.
    pilot: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)


def month_table(runs: pd.DataFrame, performance: pd.DataFrame) -> pd.DataFrame:
    """One row per report date: the latest run of the month beside the month's realised performance."""
    if runs.empty:
        latest = pd.DataFrame(columns=[c for c in MONTH_COLUMNS if c not in _PERFORMANCE])
    else:
        # recorded_at may hold the day only; on a day with a failed and a published run of a month the
        # published one is taken as the later (a month is rerun after a failure, not the other way round).
        ordered = runs.assign(_published=runs["status"].eq("published")).sort_values(
            ["report_date", "recorded_at", "_published", "run_id"], kind="stable"
        )
        latest = (
            ordered.groupby("report_date", as_index=False)
            .tail(1)
            .drop(columns="_published")
            .rename(columns={"status": "run_status"})
        )
        counts = ordered.groupby("report_date").size().rename("runs")
        latest = latest.merge(counts, left_on="report_date", right_index=True)
    realised = performance.rename(
        columns={"rows": "rows_evaluated", "status": "performance_status", "message": "performance_message"}
    )
    realised = realised.reindex(columns=["report_date", *_PERFORMANCE])
    if realised.empty:
        months = latest.assign(**{c: pd.NA for c in _PERFORMANCE})
    else:
        latest["report_date"] = pd.to_datetime(latest["report_date"]).astype("datetime64[s]")
        months = latest.merge(realised, on="report_date", how="outer", suffixes=("", "_evaluated"))
    months["report_date"] = pd.to_datetime(months["report_date"]).astype("datetime64[s]")
    return months.sort_values("report_date").reset_index(drop=True).reindex(columns=list(MONTH_COLUMNS))


def champion_manifest(settings: Settings) -> tuple[str | None, dict[str, Any] | None, str | None]:
    """The champion's version and verified manifest, or the reason there is none to show."""
    from rko_model.model.registry import Registry  # loads CatBoost: only when the page is drawn

    registry = Registry.of(settings)
    version = registry.champion_version()
    if version is None:
        return None, None, f"no champion in {settings.registry_url} yet: run `rko train` and `rko promote`"
    try:
        return version, registry.load(version).manifest, None
    except PackageError as exc:
        log.warning("champion %s cannot be shown: %s", version, exc)
        return version, None, str(exc)


def read_monitoring(settings: Settings) -> MonitoringView:
    """Read the monitoring tables and the registry into one view."""
    engine = make_staging_engine(settings.staging_url)
    try:
        months = month_table(read_runs(engine), read_performance(engine))
        pilot = read_pilot_results(engine)
    finally:
        engine.dispose()
    version, manifest, problem = champion_manifest(settings)
    return MonitoringView(
        months=months,
        champion_version=version,
        champion_manifest=manifest,
        champion_problem=problem,
        gini_floor=settings.gini_floor,
        psi_warn=settings.psi_warn,
        psi_alert=settings.psi_alert,
        read_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
        pilot=pilot,
    )
