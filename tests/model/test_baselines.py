"""The logistic-regression baseline keeps the sign of every numeric (a signed log1p, not a clip at zero)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rko_model.model import metrics
from rko_model.model.baselines import fit_logistic_regression, predict_logistic_regression, signed_log1p
from rko_model.model.spec import FeatureSpec


def test_signed_log1p_is_odd_monotone_and_keeps_zero() -> None:
    x = np.array([-1e6, -10.0, -1.0, -0.5, 0.0, 0.5, 1.0, 10.0, 1e6])
    y = signed_log1p(x)
    assert np.all(np.diff(y) > 0)  # strictly increasing: no two values collapse
    assert np.allclose(signed_log1p(-x), -y) and y[4] == 0.0
    assert np.allclose(y[5:], np.log1p(x[5:]))  # positives as before


def _signed_frame(n: int = 8000, seed: int = 2) -> tuple[pd.DataFrame, FeatureSpec]:
    """The target depends only on an all-negative column and on the negative half of a signed one."""
    rng = np.random.default_rng(seed)
    outflow = -rng.lognormal(10, 1.5, n)  # all negative: clipped at 0 it would be a constant
    net = rng.normal(0, 1e5, n)  # signed: clipped at 0 its negative half would be a constant
    logit = -1.5 - 0.8 * (np.log(-outflow) - 10) / 1.5 - 1.2 * (net < -5e4)
    frame = pd.DataFrame(
        {
            "id": np.arange(n),
            "date": pd.Timestamp("2025-01-31"),
            "outflow": outflow,
            "net": net,
            "segment": rng.choice(["a", "b"], n),
            "y": (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int),
        }
    )
    return frame, FeatureSpec("id", "date", "y", numeric=("outflow", "net"), categorical=("segment",))


def test_the_baseline_learns_from_all_negative_and_signed_columns() -> None:
    frame, spec = _signed_frame()
    pipeline = fit_logistic_regression(frame, spec)
    transformed = pipeline.named_steps["columns"].transform(frame[list(spec.features)])
    dense = transformed.toarray() if hasattr(transformed, "toarray") else transformed
    assert np.std(dense[:, 0]) > 0.5  # the all-negative column is not a constant after scaling
    negative_half = dense[frame["net"].to_numpy() < 0, 1]
    assert len(np.unique(negative_half.round(6))) > 100  # the signed column keeps its negative values apart
    score = predict_logistic_regression(pipeline, frame, spec)
    assert metrics.gini(frame["y"].to_numpy(), score) > 0.3
    for column in ("outflow", "net"):  # each column alone carries signal through the baseline
        alone = FeatureSpec("id", "date", "y", numeric=(column,))
        gini = metrics.gini(
            frame["y"].to_numpy(), predict_logistic_regression(fit_logistic_regression(frame, alone), frame, alone)
        )
        assert gini > 0.1, column
