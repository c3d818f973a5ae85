from __future__ import annotations

import numpy as np
import pytest

from rko_model.model import metrics


def test_gini_lift_precision() -> None:
    y = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0])
    perfect = np.arange(10, 0, -1, dtype=float)
    assert metrics.gini(y, perfect) == pytest.approx(1.0)
    assert metrics.gini(y, -perfect) == pytest.approx(-1.0)
    assert np.isnan(metrics.gini(np.zeros(5), np.arange(5)))
    assert metrics.precision_at(y, perfect, 0.2) == 1.0
    assert metrics.lift_at(y, perfect, 0.1) == pytest.approx(5.0)
    rng = np.random.default_rng(0)
    assert abs(metrics.gini(rng.integers(0, 2, 20000), rng.random(20000))) < 0.03


def test_business_effect_counts_contacts() -> None:
    # 20 clients, 4 converters; the rules' top 2 hold 1 converter, the model's top 2 hold 2.
    y = np.zeros(20, dtype=int)
    y[[0, 1, 5, 9]] = 1
    model = -np.arange(20, dtype=float)  # ranks client 0 first
    rules = np.zeros(20)
    rules[[0, 2]] = [2.0, 3.0]  # rules pick clients 2 (no) and 0 (yes)
    effect = metrics.business_effect(y, model, rules, share=0.1)
    assert effect.contacts == 2
    assert effect.rules_conversion == 0.5 and effect.model_conversion == 1.0
    assert effect.conversion_uplift == pytest.approx(1.0)
    assert effect.contacts_for_rules_conversions == 1  # the model's first contact already converts
    assert effect.cost_saving == pytest.approx(0.5)
    assert metrics.contacts_to_reach(y, model, 3) == 6


def test_calibration_and_stability_tools() -> None:
    rng = np.random.default_rng(1)
    p = rng.uniform(0, 0.2, 50000)
    y = (rng.random(50000) < p).astype(int)
    curve = metrics.reliability(y, p)
    assert len(curve) == 10 and curve["n"].sum() == 50000
    assert np.allclose(curve["predicted"], curve["observed"], atol=0.01)
    assert metrics.brier(y, p) < metrics.brier(y, 1 - p)
    assert metrics.psi([0.5, 0.5], [0.5, 0.5]) == pytest.approx(0.0)
    assert metrics.psi([0.5, 0.5], [0.9, 0.1]) > 0.25
    gains = metrics.gains(y, p)
    assert gains["captured"].iloc[0] == 0.0 and gains["captured"].iloc[-1] == pytest.approx(1.0)
    assert (np.diff(gains["captured"]) >= 0).all()
