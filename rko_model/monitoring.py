"""Run metrics of a scored month: the score distribution and its drift (PSI) against the package's reference."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from rko_model.model.metrics import psi
from rko_model.model.package import bin_shares

log = logging.getLogger(__name__)

#: PSI levels: below WARN stable, from WARN a warning, above ALERT a failure (issue-5 monitoring uses these).
PSI_WARN, PSI_ALERT = 0.1, 0.25
#: Share of a categorical feature's values unseen in training above which the run warns.
UNSEEN_WARN = 0.05


def drift(frame: pd.DataFrame, scores: np.ndarray, reference: dict[str, Any]) -> dict[str, Any]:
    """Score and feature PSI against ``reference`` (a package's ``reference.json``)."""
    score_ref = reference["score"]
    features = {}
    for name, ref in reference.get("features", {}).items():
        if name in frame.columns:
            features[name] = psi(ref["shares"], bin_shares(frame[name].to_numpy(dtype=float), ref["edges"]))
    unseen = unseen_categories(frame, reference)
    return {
        "score_psi": psi(score_ref["shares"], bin_shares(np.asarray(scores, dtype=float), score_ref["edges"])),
        "feature_psi": {k: round(v, 5) for k, v in features.items()},
        "feature_psi_max": max(features.values()) if features else None,
        "unseen_categories": unseen,
        "warnings": unseen_warnings(unseen),
    }


def unseen_categories(frame: pd.DataFrame, reference: dict[str, Any]) -> dict[str, float] | None:
    """Per categorical feature, the share of known values that training never saw; None for older packages.

    Missing values are not counted: the model saw those (as their own category).
    """
    seen = reference.get("categories")
    if seen is None:
        log.info(
            "the package's reference lists no categories (made before they were recorded): unseen values unchecked"
        )
        return None
    shares = {}
    for name, values in seen.items():
        if name not in frame.columns:
            continue
        known = frame[name].dropna().astype(str)
        shares[name] = round(float((~known.isin(values)).mean()), 5) if len(known) else 0.0
    return shares


def unseen_warnings(shares: dict[str, float] | None, threshold: float = UNSEEN_WARN) -> list[str]:
    """One logged warning per categorical feature whose unseen share exceeds ``threshold``."""
    messages = [
        f"{share:.1%} of {name} values were never seen in training (more than {threshold:.0%}): the model scores "
        f"them as an unknown category; a new code list? retrain when it persists"
        for name, share in (shares or {}).items()
        if share > threshold
    ]
    for message in messages:
        log.warning("%s", message)
    return messages


def score_distribution(scores: np.ndarray) -> dict[str, Any]:
    scores = np.asarray(scores, dtype=float)
    quantiles = np.quantile(scores, [0.1, 0.5, 0.9]) if len(scores) else [np.nan] * 3
    histogram, edges = np.histogram(
        scores, bins=20, range=(0.0, float(max(scores.max(), 1e-9))) if len(scores) else (0.0, 1.0)
    )
    return {
        "score_mean": float(scores.mean()) if len(scores) else None,
        "score_p10": float(quantiles[0]),
        "score_p50": float(quantiles[1]),
        "score_p90": float(quantiles[2]),
        "histogram": {"counts": histogram.tolist(), "edges": np.round(edges, 6).tolist()},
    }
