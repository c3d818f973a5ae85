"""Realised performance: figures on seeded frames, the verdict, and evaluate_month on both engines."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sklearn.metrics import roc_auc_score
from sqlalchemy.engine import Engine

from rko_model import columns as col
from rko_model.errors import IncompleteDataError, NotPublishedError, PerformanceAlert
from rko_model.runs.performance import (
    ALERT,
    OK,
    WARNING,
    RealisedPerformance,
    evaluate_month,
    evaluated_month,
    judge,
    raise_on_alert,
    realised_figures,
)
from rko_model.settings import Settings
from rko_model.stages.labels import extract_labels
from rko_model.stages.scoring import rank_scores
from rko_model.warehouse.staging import make_staging_engine, publish_month, read_performance, record_run
from tests.conftest import POSTGRES_URL

MONTH = dt.date(2026, 7, 31)


def _seeded(n: int = 2000, seed: int = 1, signal: float = 1.5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A ranked list whose scores carry ``signal`` about the labels, and the labels."""
    rng = np.random.default_rng(seed)
    ids = np.arange(n) + 100
    target = (rng.random(n) < 0.05).astype(int)
    score = 1 / (1 + np.exp(-(signal * target + rng.normal(size=n))))
    published = rank_scores(ids, score, MONTH, "v7", "run-7")
    labels = pd.DataFrame({col.CLIENT_ID: ids, col.REPORT_DATE: pd.Timestamp(MONTH), col.TARGET: target})
    return published, labels


def test_the_evaluated_month_is_three_months_before_the_period() -> None:
    assert evaluated_month(dt.date(2026, 10, 31)) == dt.date(2026, 7, 31)
    assert evaluated_month(dt.date(2026, 10, 1)) == dt.date(2026, 7, 31)
    assert evaluated_month(dt.date(2026, 5, 31)) == dt.date(2026, 2, 28)


def test_figures_match_an_independent_computation() -> None:
    published, labels = _seeded()
    figures = realised_figures(published, labels, score_psi=0.02)
    merged = published.merge(labels, on=col.CLIENT_ID)
    y, s = merged[col.TARGET].to_numpy(), merged["score"].to_numpy()
    top = merged[merged["decile"] == 1]
    assert figures.rows == len(labels) and figures.rows_unlabelled == 0
    assert figures.positives == int(y.sum()) and figures.base_rate == pytest.approx(y.mean())
    assert figures.gini == pytest.approx(2 * roc_auc_score(y, s) - 1)
    assert figures.conversion_top10 == pytest.approx(top[col.TARGET].mean())
    assert figures.lift_top_decile == pytest.approx(top[col.TARGET].mean() / y.mean())
    assert (figures.report_date, figures.model_version, figures.run_id) == (MONTH, "v7", "run-7")
    assert figures.gini > 0.3 and figures.lift_top_decile > 1


def test_listed_clients_without_a_label_are_counted_not_guessed() -> None:
    published, labels = _seeded()
    gone = labels[col.CLIENT_ID].iloc[:25]
    figures = realised_figures(published, labels[~labels[col.CLIENT_ID].isin(gone)])
    assert figures.rows_unlabelled == 25 and figures.rows == len(published) - 25
    kept = labels[~labels[col.CLIENT_ID].isin(gone)].merge(published, on=col.CLIENT_ID)
    assert figures.gini == pytest.approx(2 * roc_auc_score(kept[col.TARGET], kept["score"]) - 1)


def test_a_month_without_openings_has_no_gini_and_is_an_alert(settings: Settings) -> None:
    published, labels = _seeded()
    figures = judge(realised_figures(published, labels.assign(target=0)), settings)
    assert math.isnan(figures.gini) and figures.positives == 0
    assert figures.status == ALERT and "undefined (0 openings" in figures.message
    assert figures.row()["gini"] is None


def test_a_list_of_two_months_is_refused() -> None:
    published, labels = _seeded()
    other = published.assign(report_date=pd.Timestamp("2026-08-31"))
    with pytest.raises(ValueError, match="2 months"):
        realised_figures(pd.concat([published, other]), labels)


@pytest.mark.parametrize(
    ("signal", "psi", "status", "message"),
    [
        (3.0, 0.02, OK, ""),
        (3.0, 0.15, WARNING, "score PSI of 2026-07-31 is 0.150, from the warning level 0.10"),
        (3.0, 0.40, ALERT, "score PSI of 2026-07-31 is 0.400, above the alert level 0.25"),
        (0.0, None, ALERT, "below the floor 0.300"),
    ],
    ids=["stable", "psi-warning", "psi-alert", "gini-floor"],
)
def test_the_verdict(settings: Settings, signal: float, psi: float | None, status: str, message: str) -> None:
    published, labels = _seeded(signal=signal)
    figures = judge(realised_figures(published, labels, psi), settings)
    assert figures.status == status
    assert message in figures.message and (message == "") == (figures.message == "")
    if status == ALERT:
        with pytest.raises(PerformanceAlert, match="model v7, list of run run-7"):
            raise_on_alert(figures)
    else:
        raise_on_alert(figures)


def test_the_floor_comes_from_the_settings(settings: Settings) -> None:
    published, labels = _seeded(signal=3.0)
    figures = realised_figures(published, labels)
    assert judge(figures, settings).status == OK
    strict = judge(figures, replace(settings, gini_floor=0.99))
    assert strict.status == ALERT and f"is {figures.gini:.3f}, below the floor 0.990" in strict.message


def test_xcom_round_trip() -> None:
    published, labels = _seeded()
    figures = realised_figures(published, labels, 0.05)
    assert RealisedPerformance.from_json(figures.to_json()) == figures
    empty = realised_figures(published, labels.assign(target=0))
    back = RealisedPerformance.from_json(empty.to_json())
    assert math.isnan(back.gini) and back.rows == empty.rows


# --- evaluate_month on both engines -------------------------------------------------------


@pytest.fixture
def monitored(bank: Engine, bank_settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    """The shared bank with a staging database of this test's own (PostgreSQL: the test DB's schemas)."""
    if bank.dialect.name == "postgresql":
        admin = sa.create_engine(POSTGRES_URL)
        with admin.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA IF EXISTS mo_staging CASCADE")
            conn.exec_driver_sql("DROP SCHEMA IF EXISTS rko_monitoring CASCADE")
        admin.dispose()
        yield replace(bank_settings, staging_url=POSTGRES_URL)
    else:
        yield replace(bank_settings, staging_url=f"sqlite:///{tmp_path / 'mo_staging.db'}")


def _publish(settings: Settings, bank: Engine, month: dt.date, psi: float, seed: int = 0) -> pd.DataFrame:
    """A list of the month's eligible clients whose scores know something of the outcome, and its run metrics."""
    labels = extract_labels(bank, month, settings)
    rng = np.random.default_rng(seed)
    score = 1 / (1 + np.exp(-(2.0 * labels[col.TARGET].to_numpy() + rng.normal(size=len(labels)))))
    ranked = rank_scores(labels[col.CLIENT_ID].to_numpy(), score, month, "v-test", f"run-{month}-{seed}")
    staging = make_staging_engine(settings.staging_url)
    publish_month(staging, ranked, month, settings.sql_dir)
    record_run(
        staging, {"run_id": f"run-{month}-{seed}", "report_date": month, "status": "published", "score_psi": psi}
    )
    return ranked.merge(labels[[col.CLIENT_ID, col.TARGET]], on=col.CLIENT_ID)


def test_a_closed_month_is_evaluated_and_stored_once(bank: Engine, monitored: Settings) -> None:
    truth = _publish(monitored, bank, MONTH, psi=0.03)
    before = pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s")
    first = evaluate_month(monitored, MONTH)
    evaluated_at = pd.Timestamp(read_performance(make_staging_engine(monitored.staging_url)).iloc[0]["evaluated_at"])
    assert evaluated_at >= before  # the time of day is kept, not only the date
    assert first.status == OK and first.score_psi == pytest.approx(0.03)
    assert first.rows == len(truth) and first.positives == int(truth[col.TARGET].sum())
    assert first.gini == pytest.approx(2 * roc_auc_score(truth[col.TARGET], truth["score"]) - 1)
    _publish(monitored, bank, MONTH, psi=0.12, seed=1)  # a rescored month, evaluated again
    second = evaluate_month(monitored, MONTH)
    stored = read_performance(make_staging_engine(monitored.staging_url))
    assert len(stored) == 1 and stored.iloc[0]["run_id"] == f"run-{MONTH}-1" == second.run_id
    assert stored.iloc[0]["status"] == WARNING and stored.iloc[0]["gini"] == pytest.approx(second.gini)
    assert stored.iloc[0]["report_date"] == pd.Timestamp(MONTH)
    assert stored.iloc[0]["conversion_top10"] == pytest.approx(second.conversion_top10)


def test_an_alert_is_stored_before_it_is_raised(bank: Engine, monitored: Settings) -> None:
    _publish(monitored, bank, MONTH, psi=0.03)
    strict = replace(monitored, gini_floor=0.99)
    figures = evaluate_month(strict, MONTH)
    with pytest.raises(PerformanceAlert, match=r"realised Gini of 2026-07-31 is 0\.\d{3}, below the floor 0\.990"):
        raise_on_alert(figures)
    stored = read_performance(make_staging_engine(monitored.staging_url))
    assert stored["status"].tolist() == [ALERT] and "below the floor" in stored.iloc[0]["message"]


def test_open_windows_and_unscored_months_are_refused(bank: Engine, monitored: Settings) -> None:
    august = dt.date(2026, 8, 31)  # scored, but its window runs to November, after the warehouse's last month
    publish_month(
        make_staging_engine(monitored.staging_url),
        rank_scores(np.arange(50), np.ones(50), august, "v", "r"),
        august,
        monitored.sql_dir,
    )
    with pytest.raises(IncompleteDataError, match="need data through 2026-11-30"):
        evaluate_month(monitored, "2026-08-31")
    with pytest.raises(NotPublishedError, match="no list of 2026-06-30"):
        evaluate_month(monitored, "2026-06-30")
    assert read_performance(make_staging_engine(monitored.staging_url)).empty
