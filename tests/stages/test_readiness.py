"""The readiness rule on both engines: a complete month is ready, a partly loaded one names its sources."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from rko_model.errors import IncompleteDataError
from rko_model.settings import Settings
from rko_model.stages.readiness import RULES, check_readiness, deadline_of, require_ready
from rko_model.synth.generator import generate
from rko_model.synth.partial import partly_loaded
from rko_model.synth.spec import BankSpec
from rko_model.warehouse.bank_writer import write_bank
from tests.conftest import ENGINES, new_warehouse

PARTIAL = BankSpec(n_clients=600, n_months=6, seed=11)
LAST = PARTIAL.last_month


@pytest.fixture(params=ENGINES)
def partial_bank(request: pytest.FixtureRequest, tmp_path: Path, settings: Settings):  # type: ignore[no-untyped-def]
    """A bank whose last month is loaded as on its 3rd day."""
    engine, url, drop = new_warehouse(request.param, tmp_path)
    write_bank(engine, partly_loaded(generate(PARTIAL), LAST, PARTIAL.seed))
    yield engine, replace(settings, warehouse_url=url)
    drop()


def test_a_complete_month_is_ready(tiny: tuple[Engine, Settings]) -> None:
    engine, settings = tiny
    readiness = check_readiness(engine, settings, dt.date(2026, 10, 31))
    assert readiness.ready and readiness.incomplete == ()
    assert {s.table for s in readiness.sources} == {r.table for r in RULES}
    assert readiness.message() == "every source holds 2026-10-31"
    assert require_ready(engine, settings, dt.date(2026, 10, 31)).ready


def test_a_partly_loaded_month_names_its_sources(partial_bank: tuple[Engine, Settings]) -> None:
    engine, settings = partial_bank
    readiness = check_readiness(engine, settings, LAST)
    assert set(readiness.incomplete) == {"account_monthly", "digital_activity", "payments"}
    by_table = {s.table: s for s in readiness.sources}
    account = by_table["account_monthly"]
    assert 0 < account.rows_month < 0.5 * account.rows_previous
    message = readiness.message()
    assert message.startswith("2026-10-31 is not completely loaded: account_monthly (")
    assert "digital_activity (" in message and "payments (" in message
    with pytest.raises(IncompleteDataError, match=r"payments .*--force"):
        require_ready(engine, settings, LAST)
    # The month before is complete.
    assert check_readiness(engine, settings, dt.date(2026, 9, 30)).ready


def test_a_source_with_too_few_rows_the_month_before_is_not_judged(partial_bank: tuple[Engine, Settings]) -> None:
    engine, settings = partial_bank
    readiness = check_readiness(engine, settings, LAST)
    events = next(s for s in readiness.sources if s.table == "product_events")
    assert events.rows_previous < 100 and not events.judged and events.complete


def test_a_month_that_lands_becomes_ready(partial_bank: tuple[Engine, Settings]) -> None:
    """The same bank once its last month has landed in full."""
    engine, settings = partial_bank
    assert not check_readiness(engine, settings, LAST).ready
    write_bank(engine, generate(PARTIAL))
    assert check_readiness(engine, settings, LAST).ready


def test_the_deadline_counts_from_the_month_close(settings: Settings) -> None:
    assert deadline_of(settings, dt.date(2026, 10, 31)) == dt.datetime(2026, 11, 11, tzinfo=dt.UTC)
    short = replace(settings, readiness_deadline_hours=6)
    assert deadline_of(short, dt.date(2026, 2, 28)) == dt.datetime(2026, 3, 1, 6, tzinfo=dt.UTC)
