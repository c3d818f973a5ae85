"""Realised performance: once a scored month's 3-month window has closed, how good was its list?

The list published for a month is compared with the RKO openings that really happened in
its label window: realised Gini, lift and conversion in the top decile, the same figures the
retro tests report, so the two can be read side by side. The month's row in
``rko_monitoring.rko_realised_performance`` is replaced on every evaluation.

The verdict reads the settings' thresholds: a realised Gini below ``gini_floor`` or a score
PSI (of the run that published the list) above ``psi_alert`` is an alert; a PSI from
``psi_warn`` is a warning. An alert is stored first and then raised as
:class:`~rko_model.errors.PerformanceAlert`, so the figures survive the failed run.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from rko_model import columns as col
from rko_model.common.dates import add_months, month_end, parse_report_date
from rko_model.errors import NotPublishedError, PerformanceAlert
from rko_model.model.metrics import gini, lift_at, precision_at
from rko_model.settings import Settings
from rko_model.stages.labels import extract_labels
from rko_model.warehouse.engine import make_engine
from rko_model.warehouse.staging import make_staging_engine, read_published, read_run, record_performance

log = logging.getLogger(__name__)

OK, WARNING, ALERT = "ok", "warning", "alert"
TOP_SHARE = 0.1


@dataclass(frozen=True)
class RealisedPerformance:
    """What one month's list achieved, and the verdict on it."""

    report_date: dt.date
    model_version: str | None
    run_id: str | None
    rows: int
    rows_unlabelled: int
    positives: int
    base_rate: float
    gini: float
    lift_top_decile: float
    conversion_top10: float
    score_psi: float | None
    status: str = OK
    message: str = ""

    def row(self) -> dict[str, object]:
        """The table row: NaN figures become NULL."""
        return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in asdict(self).items()}

    def to_json(self) -> dict[str, object]:
        """The row with the date as ISO text: what a DAG task hands on as XCom."""
        return {**self.row(), "report_date": self.report_date.isoformat()}

    @classmethod
    def from_json(cls, values: dict[str, object]) -> RealisedPerformance:
        nan = float("nan")
        return cls(
            **{
                **values,
                "report_date": parse_report_date(str(values["report_date"])),
                **{k: nan for k in ("base_rate", "gini", "lift_top_decile", "conversion_top10") if values[k] is None},
            }
        )  # type: ignore[arg-type]


def evaluated_month(period_end: dt.date) -> dt.date:
    """The report date whose label window ends with ``period_end``'s month: 3 months earlier."""
    return add_months(month_end(period_end), -col.LABEL_HORIZON_MONTHS)


def realised_figures(
    published: pd.DataFrame, labels: pd.DataFrame, score_psi: float | None = None
) -> RealisedPerformance:
    """Compare a month's published list (``client_id, score, rank, ...``) with its labels (``client_id, target``).

    Listed clients absent from the labels (no longer eligible when the labels are read, e.g. a
    corrected record) have no known outcome: they are counted, not guessed.
    """
    if published.empty:
        raise NotPublishedError("the published list is empty: nothing to evaluate")
    months = published[col.REPORT_DATE].unique()
    if len(months) != 1:
        raise ValueError(f"the list holds {len(months)} months; evaluate one at a time")
    ordered = published.sort_values("rank", kind="stable")
    merged = ordered.merge(labels[[col.CLIENT_ID, col.TARGET]], on=col.CLIENT_ID, how="left", validate="one_to_one")
    known = merged[merged[col.TARGET].notna()]
    y = known[col.TARGET].to_numpy(dtype=np.int64)
    score = known["score"].to_numpy(dtype=float)
    empty = len(y) == 0
    versions = ordered["model_version"].dropna().unique()
    runs = ordered["run_id"].dropna().unique()
    return RealisedPerformance(
        report_date=pd.Timestamp(months[0]).date(),
        model_version=str(versions[0]) if len(versions) == 1 else None,
        run_id=str(runs[0]) if len(runs) == 1 else None,
        rows=len(known),
        rows_unlabelled=len(merged) - len(known),
        positives=int(y.sum()),
        base_rate=float("nan") if empty else float(y.mean()),
        gini=float("nan") if empty else gini(y, score),
        lift_top_decile=float("nan") if empty else lift_at(y, score, TOP_SHARE),
        conversion_top10=float("nan") if empty else precision_at(y, score, TOP_SHARE),
        score_psi=score_psi,
    )


def judge(figures: RealisedPerformance, settings: Settings) -> RealisedPerformance:
    """The figures with their status and a message that says which threshold was crossed, by how much."""
    alerts, warnings = [], []
    when = figures.report_date.isoformat()
    if math.isnan(figures.gini):
        alerts.append(
            f"realised Gini of {when} is undefined ({figures.positives} openings among {figures.rows} listed clients)"
        )
    elif figures.gini < settings.gini_floor:
        alerts.append(f"realised Gini of {when} is {figures.gini:.3f}, below the floor {settings.gini_floor:.3f}")
    psi = figures.score_psi
    if psi is not None and not math.isnan(psi):
        if psi > settings.psi_alert:
            alerts.append(f"score PSI of {when} is {psi:.3f}, above the alert level {settings.psi_alert:.2f}")
        elif psi >= settings.psi_warn:
            warnings.append(f"score PSI of {when} is {psi:.3f}, from the warning level {settings.psi_warn:.2f}")
    status = ALERT if alerts else WARNING if warnings else OK
    return _replace(figures, status=status, message="; ".join(alerts + warnings))


def _replace(figures: RealisedPerformance, **changes: object) -> RealisedPerformance:
    return RealisedPerformance(**{**asdict(figures), **changes})  # type: ignore[arg-type]


def evaluate_month(settings: Settings, report_date: dt.date | str) -> RealisedPerformance:
    """Evaluate ``report_date``'s published list against what happened, store the row, return it.

    Refuses a month whose label window is still open (:class:`IncompleteDataError`) and a
    month with no published list (:class:`NotPublishedError`). Does not raise on a breach:
    see :func:`raise_on_alert`.
    """
    report_date = parse_report_date(report_date)
    staging = make_staging_engine(settings.staging_url)
    published = read_published(staging, report_date)
    if published.empty:
        raise NotPublishedError(
            f"no list of {report_date.isoformat()} in mo_staging.rko_propensity: the month was not scored, "
            "so there is nothing to evaluate"
        )
    labels = extract_labels(make_engine(settings.warehouse_url), report_date, settings)
    runs = published["run_id"].unique()
    run = read_run(staging, report_date, str(runs[0]) if len(runs) == 1 else None)
    score_psi = None if run.empty or pd.isna(run["score_psi"].iloc[0]) else float(run["score_psi"].iloc[0])
    if run.empty:
        log.warning("no run metrics for the list of %s: its score PSI is unknown", report_date)
    figures = judge(realised_figures(published, labels, score_psi), settings)
    record_performance(staging, figures.row())
    log.info(
        "realised performance of %s: %d clients, %d openings, Gini %.3f, lift %.2f, top-10%% conversion %.2f%% (%s)",
        report_date,
        figures.rows,
        figures.positives,
        figures.gini,
        figures.lift_top_decile,
        100 * figures.conversion_top10,
        figures.status,
    )
    if figures.rows_unlabelled:
        log.warning("%d listed clients of %s have no label (no longer eligible)", figures.rows_unlabelled, report_date)
    return figures


def raise_on_alert(figures: RealisedPerformance) -> None:
    """Raise :class:`PerformanceAlert` when the verdict is an alert; a warning is only logged."""
    if figures.status == ALERT:
        raise PerformanceAlert(f"{figures.message} (model {figures.model_version}, list of run {figures.run_id})")
    if figures.status == WARNING:
        log.warning("performance warning: %s", figures.message)
