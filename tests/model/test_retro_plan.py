from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.engine import Engine

from rko_model.common.dates import add_months
from rko_model.errors import IncompleteDataError
from rko_model.model.dataset import plan_from_warehouse, plan_retro
from rko_model.settings import Settings


def test_plan_keeps_training_labels_out_of_the_test_period() -> None:
    plan = plan_retro(dt.date(2023, 11, 30), dt.date(2026, 10, 31), n_train=12, n_test=6)
    assert plan.test_months[-1] == dt.date(2026, 7, 31)  # the last month with a closed window
    assert plan.test_months[0] == dt.date(2026, 2, 28) and len(plan.test_months) == 6
    assert len(plan.train_months) == 12
    assert add_months(plan.train_months[-1], 3) <= plan.test_months[0]
    assert plan.train_months[0] >= add_months(dt.date(2023, 11, 30), 11)  # 12 months of history
    assert list(plan.train_months) == sorted(plan.train_months)


def test_short_warehouses_give_fewer_training_months_or_a_clear_error() -> None:
    plan = plan_retro(dt.date(2024, 11, 30), dt.date(2026, 10, 31), n_train=12, n_test=2)
    assert plan.train_months == (
        dt.date(2025, 10, 31),
        dt.date(2025, 11, 30),
        dt.date(2025, 12, 31),
        dt.date(2026, 1, 31),
        dt.date(2026, 2, 28),
        dt.date(2026, 3, 31),
    )
    with pytest.raises(IncompleteDataError, match="too short"):
        plan_retro(dt.date(2025, 4, 30), dt.date(2026, 10, 31), n_train=12, n_test=6)


def test_a_window_asked_for_must_fit_the_warehouse() -> None:
    """`rko train --train-months 12` on a warehouse with room for 6 says so instead of training on 6."""
    with pytest.raises(IncompleteDataError, match=r"it holds 6 training months .* fewer than the 12 asked"):
        plan_retro(dt.date(2024, 11, 30), dt.date(2026, 10, 31), n_train=12, n_test=2, strict=True)
    assert (
        len(plan_retro(dt.date(2024, 11, 30), dt.date(2026, 10, 31), n_train=6, n_test=2, strict=True).train_months)
        == 6
    )


def test_a_plan_as_of_a_month_uses_no_label_after_it(bank: Engine, bank_settings: Settings) -> None:
    """A warehouse with tables past the month being decided (a pilot's bank): its later labels are not known."""
    full = plan_from_warehouse(bank, bank_settings, n_train=2, n_test=1)
    as_of = add_months(full.test_months[-1], 1)  # two months earlier than the warehouse's end
    plan = plan_from_warehouse(bank, bank_settings, n_train=2, n_test=1, as_of=as_of)
    assert plan.test_months[-1] == add_months(as_of, -3) == add_months(full.test_months[-1], -2)
    assert add_months(plan.train_months[-1], 3) <= plan.test_months[0]
    later = add_months(full.test_months[-1], 12)  # a date past the warehouse changes nothing
    assert plan_from_warehouse(bank, bank_settings, n_train=2, n_test=1, as_of=later) == full
