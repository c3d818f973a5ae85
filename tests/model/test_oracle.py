"""The oracle ceiling: the hazards the bank really drew from bound any model, up to sampling noise."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine

from rko_model import columns as col
from rko_model.model import metrics
from rko_model.model.dataset import build_dataset, load_oracle, load_truth, oracle_from_hazards, plan_from_warehouse
from rko_model.model.spec import rko_spec
from rko_model.model.train import TrainParams, train
from rko_model.settings import Settings


def test_the_oracle_multiplies_the_three_window_hazards() -> None:
    hazards = pd.DataFrame(
        {
            col.CLIENT_ID: [1, 1, 1, 1, 2, 2],
            "month_end": pd.to_datetime(
                ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30", "2026-01-31", "2026-02-28"]
            ),
            "hazard": [0.1, 0.2, 0.5, 0.9, 0.3, 0.3],
        }
    )
    oracle = oracle_from_hazards(hazards, [dt.date(2026, 1, 31)]).set_index(col.CLIENT_ID)["oracle"]
    assert oracle[1] == 1 - 0.9 * 0.8 * 0.5  # April's hazard drives May: outside the window
    assert abs(oracle[2] - (1 - 0.7 * 0.7)) < 1e-12  # liquidated after February: no March hazard


def test_no_model_nor_blend_with_the_truth_beats_the_oracle_beyond_noise(bank: Engine, bank_settings: Settings) -> None:
    plan = plan_from_warehouse(bank, bank_settings, n_train=4, n_test=3)
    train_frame = build_dataset(bank, plan.train_months, bank_settings)
    test = build_dataset(bank, plan.test_months, bank_settings)
    keys = [col.CLIENT_ID, col.REPORT_DATE]
    test = test.merge(load_truth(bank, plan.test_months, bank_settings), on=keys, how="left")
    test = test.merge(load_oracle(bank, plan.test_months, bank_settings), on=keys, how="left")
    assert test["propensity"].notna().all() and test["oracle"].notna().all()  # every eligible client has both

    model = train(train_frame, rko_spec(), TrainParams(iterations=150, learning_rate=0.15, depth=4))
    y = test[col.TARGET].to_numpy()
    ranks = {
        "model": pd.Series(model.predict(test)).rank(pct=True).to_numpy(),
        "truth": test["propensity"].rank(pct=True).to_numpy(),
    }
    candidates = {
        "model": ranks["model"],
        "truth": ranks["truth"],
        **{f"truth + {w} x model": ranks["truth"] + w * ranks["model"] for w in (0.1, 0.3, 0.5, 1.0)},
    }
    oracle = test["oracle"].to_numpy()
    rng = np.random.default_rng(0)
    samples = [rng.integers(0, len(y), len(y)) for _ in range(200)]
    for name, score in candidates.items():
        gap = metrics.gini(y, score) - metrics.gini(y, oracle)
        boot = [metrics.gini(y[i], score[i]) - metrics.gini(y[i], oracle[i]) for i in samples]
        noise = 2 * float(np.std(boot))
        assert gap <= noise, f"{name} beats the oracle by {gap:.4f} (noise {noise:.4f})"
    # The oracle is a real ceiling here, not only a bound: the model is well below it.
    assert metrics.gini(y, oracle) > metrics.gini(y, ranks["model"])
