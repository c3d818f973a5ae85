"""The monitoring page's pilot section: stored lines read back on both engines, chart with intervals, table."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from dataclasses import replace

import pytest
import sqlalchemy as sa

from rko_model.pilot.measure import INCONCLUSIVE, POSITIVE, PilotLine
from rko_model.pilot.store import read_pilot_results, record_pilot_month
from rko_model.settings import Settings
from rko_model.ui.dashboard import read_monitoring
from rko_model.ui.dashboard_page import render_page
from rko_model.warehouse.staging import make_staging_engine
from tests.conftest import ENGINES, POSTGRES_URL, need_postgres

MONTHS = (dt.date(2026, 7, 31), dt.date(2026, 8, 31))


@pytest.fixture(params=ENGINES)
def staging_settings(request: pytest.FixtureRequest, settings: Settings) -> Iterator[Settings]:
    if request.param == "sqlite":
        yield settings
        return
    need_postgres()
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA IF EXISTS mo_staging CASCADE")
        conn.exec_driver_sql("DROP SCHEMA IF EXISTS rko_monitoring CASCADE")
    admin.dispose()
    yield replace(settings, staging_url=POSTGRES_URL)


def _lines(month: dt.date, increment: float, low: float, high: float, verdict: str) -> list[PilotLine]:
    model = PilotLine(
        month, "model", 4000, 1200, 180, 0.045, 150, 0.125, 600, 45, 0.075, increment, low, high, verdict, 30000.0,
        500.0, math.nan, math.nan, 0.02, 4.0,
    )  # fmt: skip
    rules = PilotLine(month, "rules", 4000, 1200, 150, 0.04, increment=increment / 2, ci_low=-0.01, ci_high=0.05)
    control = PilotLine(month, "control", 2000, 0, 70, 0.035)
    return [model, rules, control]


def test_the_page_draws_the_pilot_and_says_inconclusive(staging_settings: Settings) -> None:
    engine = make_staging_engine(staging_settings.staging_url)
    record_pilot_month(engine, MONTHS[0], _lines(MONTHS[0], 0.01, -0.005, 0.025, INCONCLUSIVE))
    record_pilot_month(engine, MONTHS[1], _lines(MONTHS[1], 0.05, 0.02, 0.08, POSITIVE))
    record_pilot_month(engine, MONTHS[1], _lines(MONTHS[1], 0.05, 0.02, 0.08, POSITIVE))  # a rerun replaces
    stored = read_pilot_results(engine)
    assert len(stored) == 6 and stored.groupby("report_date").size().tolist() == [3, 3]
    page = render_page(read_monitoring(staging_settings))
    chart = page.split('class="chart pilot-increment"', 1)[1].split("</svg>", 1)[0]
    assert chart.count("<circle") == 4 and chart.count('class="whisker"') == 4 and "no effect" in chart
    assert "[-0.50, +2.50] pp" in page and "inconclusive" in page and "positive" in page
    assert "+5.00 pp" in page and "500 ₽" in page


def test_the_page_says_when_no_pilot_month_was_measured(settings: Settings) -> None:
    assert "No pilot month measured yet" in render_page(read_monitoring(settings))
