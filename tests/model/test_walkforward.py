"""Walk-forward retro tests: a retraining never uses a label window still open at its test month."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from rko_model.common.dates import add_months
from rko_model.errors import InvalidInputError
from rko_model.model.walkforward import STRATEGIES, labelled_by, plan_walk_forward, run_walk_forward, summarise
from rko_model.runs.training import refit_months

TEST_MONTHS = [add_months(dt.date(2026, 2, 28), k) for k in range(6)]


def test_no_plan_uses_a_label_window_still_open_at_its_test_months() -> None:
    plan = plan_walk_forward(TEST_MONTHS, n_train=12)
    for refit in plan:
        assert len(refit.train_months) == 12 and list(refit.train_months) == sorted(refit.train_months)
        for month in refit.test_months:
            assert month >= refit.trained_at
            # label window of m is (m, m+3]: closed at the test month (and at the retraining)
            assert all(add_months(m, 3) <= refit.trained_at <= month for m in refit.train_months)
        assert refit.train_months[-1] == add_months(refit.trained_at, -3)  # the latest it could know


def test_each_strategy_scores_every_test_month_once_with_its_cadence() -> None:
    plan = plan_walk_forward(TEST_MONTHS, n_train=12)
    for strategy in STRATEGIES:
        parts = [r for r in plan if r.strategy == strategy]
        scored = [m for r in parts for m in r.test_months]
        assert scored == TEST_MONTHS
        assert len(parts) == {"frozen": 1, "monthly": 6, "quarterly": 2}[strategy]
    frozen = next(r for r in plan if r.strategy == "frozen")
    assert frozen.train_months == labelled_by(TEST_MONTHS[0], 12)  # today's retro model
    with pytest.raises(InvalidInputError):
        plan_walk_forward([], 12)


def test_the_package_refit_months_are_the_latest_with_closed_windows() -> None:
    months = refit_months(tuple(TEST_MONTHS), 12)
    assert months[-1] == TEST_MONTHS[-1] and len(months) == 12
    assert months == labelled_by(add_months(TEST_MONTHS[-1], 3), 12)


def test_walk_forward_runs_on_a_small_panel() -> None:
    from rko_model.model.train import TrainParams, train
    from tests.model.test_train import _drifting

    frame, spec = _drifting(n_dates=9, per_date=600)
    frame["date"] = frame["date"].dt.date
    months = sorted(frame["date"].unique())
    tests = months[-2:]  # 2 test months; each retraining stacks 2 months labelled by then
    frozen = train(
        frame[frame["date"].isin(labelled_by(tests[0], 2))],
        spec,
        TrainParams(iterations=40, learning_rate=0.2, depth=3, early_stopping_rounds=10),
    )
    with pytest.raises(InvalidInputError, match="lacks months"):
        run_walk_forward(frame[frame["date"] != months[-4]], frozen, tests, n_train=2)
    walk = run_walk_forward(frame, frozen, tests, n_train=2)
    assert set(walk["strategy"]) == set(STRATEGIES) and len(walk) == 6
    monthly = walk[walk["strategy"] == "monthly"].set_index("month")
    frozen_rows = walk[walk["strategy"] == "frozen"].set_index("month")
    first = tests[0].isoformat()
    assert monthly.loc[first, "gini"] == frozen_rows.loc[first, "gini"]  # the same model at the first month
    table = summarise(walk).set_index("strategy")
    assert table.loc["frozen", "gain_over_frozen"] == 0.0
    assert pd.api.types.is_float_dtype(table["gini_mean"])
