"""Events after the latest complete month: counted for a warning, whatever month is scored; later history is not."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.engine import Engine

from rko_model.settings import Settings
from rko_model.stages.late_events import late_events
from tests.conftest import R
from tests.helpers import insert

LAST_MONTH = dt.date(2026, 10, 31)  # the generator's default last month


def test_later_months_of_a_backfill_are_history_not_late_events(bank: Engine, bank_settings: Settings) -> None:
    assert late_events(bank, bank_settings, dt.date(2026, 4, 30)) == []
    assert late_events(bank, bank_settings, LAST_MONTH) == []


def test_rows_after_the_latest_complete_month_are_counted(tiny: tuple[Engine, Settings]) -> None:
    engine, settings = tiny
    payment = {
        "payment_id": 10**15,
        "client_id": 1,
        "payment_date": dt.date(2099, 1, 1),
        "amount": 1.0,
        "direction": "in",
        "counterparty_inn": None,
        "purpose": None,
    }
    insert(engine, "payments", [payment, {**payment, "payment_id": 10**15 + 1, "payment_date": dt.date(2026, 11, 2)}])
    for report_date in (R, LAST_MONTH):  # a backfill month and the latest month see the same late rows
        (late,) = late_events(engine, settings, report_date)
        assert (late.source, late.events, late.latest, late.horizon) == ("payments", 2, dt.date(2099, 1, 1), LAST_MONTH)
        assert late.message(report_date).startswith("2 rows of payments are dated after 2026-10-31")
