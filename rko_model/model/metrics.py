"""Ranking, calibration and business metrics of a score against realised labels.

All functions are pure and take arrays: ``y`` holds 0/1 labels, ``score`` any real score
where higher means more likely to open RKO.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, roc_auc_score


def gini(y: np.ndarray, score: np.ndarray) -> float:
    """2 * AUC - 1; NaN when the labels hold a single class."""
    y = np.asarray(y)
    if y.min() == y.max():
        return float("nan")
    return float(2.0 * roc_auc_score(y, score) - 1.0)


def _top(score: np.ndarray, share: float) -> np.ndarray:
    """Indices of the ``share`` highest scores; ties broken by position, so the count is exact."""
    k = max(1, round(len(score) * share))
    return np.argsort(-np.asarray(score), kind="stable")[:k]


def precision_at(y: np.ndarray, score: np.ndarray, share: float) -> float:
    """Conversion among the ``share`` of clients with the highest scores."""
    return float(np.asarray(y)[_top(score, share)].mean())


def lift_at(y: np.ndarray, score: np.ndarray, share: float = 0.1) -> float:
    """Conversion in the top ``share`` over the overall conversion."""
    base = float(np.mean(y))
    return precision_at(y, score, share) / base if base > 0 else float("nan")


def contacts_to_reach(y: np.ndarray, score: np.ndarray, conversions: float) -> int:
    """How many clients, taken best score first, hold ``conversions`` positives."""
    ordered = np.asarray(y)[np.argsort(-np.asarray(score), kind="stable")]
    reached = np.flatnonzero(np.cumsum(ordered) >= conversions)
    return int(reached[0] + 1) if len(reached) else len(ordered)


@dataclass(frozen=True)
class BusinessEffect:
    """The model against the rules at equal contact volume (the mission's two figures)."""

    share: float
    contacts: int
    model_conversion: float
    rules_conversion: float
    conversion_uplift: float  # model / rules - 1
    contacts_for_rules_conversions: int
    cost_saving: float  # 1 - contacts the model needs / contacts the rules used

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def business_effect(y: np.ndarray, model: np.ndarray, rules: np.ndarray, share: float = 0.1) -> BusinessEffect:
    """Conversion uplift and cost saving of ``model`` over ``rules`` when contacting the top ``share``."""
    y = np.asarray(y)
    top_rules = _top(rules, share)
    contacts = len(top_rules)
    rules_hits = float(y[top_rules].sum())
    model_conv = precision_at(y, model, share)
    rules_conv = rules_hits / contacts
    needed = contacts_to_reach(y, model, rules_hits)
    return BusinessEffect(
        share=share,
        contacts=contacts,
        model_conversion=model_conv,
        rules_conversion=rules_conv,
        conversion_uplift=model_conv / rules_conv - 1.0 if rules_conv > 0 else float("nan"),
        contacts_for_rules_conversions=needed,
        cost_saving=1.0 - needed / contacts,
    )


def brier(y: np.ndarray, probability: np.ndarray) -> float:
    return float(brier_score_loss(y, np.clip(probability, 0.0, 1.0)))


def reliability(y: np.ndarray, probability: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Mean predicted probability against observed rate in equal-count bins of the prediction."""
    frame = pd.DataFrame({"p": np.asarray(probability, dtype=float), "y": np.asarray(y, dtype=float)})
    frame["bin"] = pd.qcut(frame["p"].rank(method="first"), q=bins, labels=False)
    out = frame.groupby("bin").agg(predicted=("p", "mean"), observed=("y", "mean"), n=("y", "size"))
    return out.reset_index(drop=True)


def gains(y: np.ndarray, score: np.ndarray, points: int = 100) -> pd.DataFrame:
    """Share of all positives captured when contacting the top x% (the gains chart)."""
    ordered = np.asarray(y)[np.argsort(-np.asarray(score), kind="stable")]
    captured = np.cumsum(ordered) / max(ordered.sum(), 1)
    shares = np.linspace(0, 1, points + 1)
    idx = np.clip((shares * len(ordered)).astype(int) - 1, 0, len(ordered) - 1)
    return pd.DataFrame({"contacted": shares, "captured": np.where(shares == 0, 0.0, captured[idx])})


def psi(expected: np.ndarray, actual: np.ndarray, eps: float = 1e-4) -> float:
    """Population stability index between two binned distributions (shares that sum to 1)."""
    e = np.clip(np.asarray(expected, dtype=float), eps, None)
    a = np.clip(np.asarray(actual, dtype=float), eps, None)
    return float(np.sum((a - e) * np.log(a / e)))


def month_metrics(y: np.ndarray, score: np.ndarray, probability: np.ndarray | None = None) -> dict[str, float]:
    """The retro table's row for one model and month."""
    out = {
        "rows": float(len(y)),
        "positives": float(np.sum(y)),
        "gini": gini(y, score),
        "lift_top10": lift_at(y, score, 0.1),
        "precision_top5": precision_at(y, score, 0.05),
        "precision_top10": precision_at(y, score, 0.1),
    }
    if probability is not None:
        out["brier"] = brier(y, probability)
        out["mean_probability"] = float(np.mean(probability))
        out["observed_rate"] = float(np.mean(y))
    return out
