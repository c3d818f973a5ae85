"""Labels: both edges of the 3-month window, the eligible population, refusal of open windows."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.engine import Engine

from rko_model import columns as col
from rko_model.common.dates import add_months
from rko_model.errors import IncompleteDataError
from rko_model.settings import Settings
from rko_model.stages.labels import extract_labels, label_window
from rko_model.stages.snapshot import extract_snapshot
from tests.conftest import R
from tests.helpers import eligible_client, insert


def test_window_is_three_months_after_the_report_date() -> None:
    assert label_window(dt.date(2026, 6, 30)) == (dt.date(2026, 6, 30), dt.date(2026, 9, 30))
    assert label_window(dt.date(2025, 11, 30)) == (dt.date(2025, 11, 30), dt.date(2026, 2, 28))


def test_labels_cover_the_snapshot_population(bank: Engine, bank_settings: Settings) -> None:
    labels = extract_labels(bank, "2026-05-31", bank_settings)
    snapshot = extract_snapshot(bank, "2026-05-31", bank_settings)
    assert labels[col.CLIENT_ID].tolist() == snapshot[col.CLIENT_ID].tolist()
    rate = labels[col.TARGET].mean()
    assert 0.01 < rate < 0.10


@pytest.mark.parametrize(
    ("opened", "positive"),
    [
        (R + dt.timedelta(days=1), True),
        (add_months(R, 3), True),
        (add_months(R, 3) + dt.timedelta(days=1), False),
    ],
    ids=["day-after-R", "last-day-of-window", "day-after-window"],
)
def test_window_edges(tiny: tuple[Engine, Settings], opened: dt.date, positive: bool) -> None:
    engine, settings = tiny
    client = eligible_client(engine, settings, R)
    insert(engine, "product_events", [dict(client_id=client, product="RKO", open_date=opened, close_date=None)])
    labels = extract_labels(engine, R, settings).set_index(col.CLIENT_ID)
    assert bool(labels.loc[client, col.TARGET]) is positive


def test_incomplete_window_is_refused(bank: Engine, bank_settings: Settings) -> None:
    extract_labels(bank, "2026-07-31", bank_settings)  # window ends 2026-10-31, the last month
    with pytest.raises(IncompleteDataError, match=r"need data through 2026-11-30.*latest labelled month: 2026-07-31"):
        extract_labels(bank, "2026-08-31", bank_settings)
