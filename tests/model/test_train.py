"""The trainer is generic: it learns from any frame that matches a spec, not only the RKO snapshot."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rko_model.errors import InvalidInputError
from rko_model.model import metrics
from rko_model.model.spec import FeatureSpec
from rko_model.model.train import TrainParams, split_for_early_stopping, train

FAST = TrainParams(iterations=150, learning_rate=0.15, depth=4, early_stopping_rounds=30)


def _other_product(n: int = 6000, seed: int = 3) -> tuple[pd.DataFrame, FeatureSpec]:
    """A made-up deposit-propensity frame: other names, NaN in categories and text, pandas 3 strings."""
    rng = np.random.default_rng(seed)
    city = rng.choice(["Казань", "Омск", None], size=n, p=[0.45, 0.45, 0.1])
    words = rng.choice(["депозит процент", "кредит", "зарплата", None], size=n, p=[0.2, 0.3, 0.3, 0.2])
    age = rng.uniform(18, 80, n)
    logit = -2 + 1.5 * (words == "депозит процент") + 0.04 * (age - 50) + 0.8 * (city == "Казань")
    frame = pd.DataFrame(
        {
            "customer": np.arange(n),
            "as_of": pd.to_datetime(rng.choice(["2025-01-31", "2025-02-28", "2025-03-31"], size=n)),
            "age": age,
            "income": np.where(rng.random(n) < 0.1, np.nan, rng.lognormal(11, 1, n)),
            "city": pd.array(city, dtype="string"),
            "notes": pd.Series(words, dtype="str"),
            "opened_deposit": (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int),
        }
    )
    spec = FeatureSpec(
        "customer",
        "as_of",
        "opened_deposit",
        numeric=("age", "income"),
        categorical=("city",),
        text=("notes",),
        name="deposit",
    )
    return frame, spec


def test_trains_on_any_frame_matching_a_spec() -> None:
    frame, spec = _other_product()
    model = train(frame, spec, FAST)
    assert model.eval_dates == ("2025-03-31",) and model.fit_dates == ("2025-01-31", "2025-02-28")
    p = model.predict(frame)
    assert ((p > 0) & (p < 1)).all()
    assert metrics.gini(frame["opened_deposit"], p) > 0.4
    assert 0.5 < p.mean() / frame["opened_deposit"].mean() < 2  # probabilities, not arbitrary scores


def test_single_date_frames_hold_out_a_stable_share_of_ids() -> None:
    frame, spec = _other_product()
    frame["as_of"] = pd.Timestamp("2025-01-31")
    _, held = split_for_early_stopping(frame, spec)
    assert 0.1 < len(held) / len(frame) < 0.2
    _, again_held = split_for_early_stopping(frame.sample(frac=1.0, random_state=1), spec)
    assert set(held["customer"]) == set(again_held["customer"])


def test_bad_targets_are_refused() -> None:
    frame, spec = _other_product(300)
    with pytest.raises(InvalidInputError, match="only 0 and 1"):
        train(frame.assign(opened_deposit=2), spec, FAST)
    with pytest.raises(InvalidInputError, match="single class"):
        train(frame.assign(opened_deposit=0), spec, FAST)
    with pytest.raises(InvalidInputError, match="lacks columns"):
        train(frame.drop(columns=["notes"]), spec, FAST)


def test_negative_downsampling_keeps_positives_and_calibration() -> None:
    from rko_model.model.train import downsample_negatives

    frame, spec = _other_product(20000)
    kept, weight = downsample_negatives(frame, spec, 0.25, seed=1)
    positives = frame["opened_deposit"] == 1
    assert kept["opened_deposit"].sum() == positives.sum()
    assert weight is not None and set(np.unique(weight)) == {1.0, 4.0}
    negatives_weighted = weight[kept["opened_deposit"].to_numpy() == 0].sum()
    assert abs(negatives_weighted / (~positives).sum() - 1) < 0.05
    model = train(frame, spec, TrainParams(**{**FAST.to_dict(), "negative_share": 0.3}))
    p = model.predict(frame)
    assert 0.8 < p.mean() / frame["opened_deposit"].mean() < 1.25  # still probabilities of the full population
    with pytest.raises(InvalidInputError, match="negative_share"):
        train(frame, spec, TrainParams(negative_share=0.0))
