"""Run metrics of a scored month: the score distribution and its drift (PSI) against the package's reference."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from rko_model.model.metrics import psi
from rko_model.model.package import bin_shares
from rko_model.settings import DEFAULT_PSI_ALERT, DEFAULT_PSI_WARN

#: PSI levels: below WARN stable, from WARN a warning, above ALERT a failure (``Settings.psi_warn``/``psi_alert``).
PSI_WARN, PSI_ALERT = DEFAULT_PSI_WARN, DEFAULT_PSI_ALERT


def drift(frame: pd.DataFrame, scores: np.ndarray, reference: dict[str, Any]) -> dict[str, Any]:
    """Score and feature PSI against ``reference`` (a package's ``reference.json``)."""
    score_ref = reference["score"]
    features = {}
    for name, ref in reference.get("features", {}).items():
        if name in frame.columns:
            features[name] = psi(ref["shares"], bin_shares(frame[name].to_numpy(dtype=float), ref["edges"]))
    return {
        "score_psi": psi(score_ref["shares"], bin_shares(np.asarray(scores, dtype=float), score_ref["edges"])),
        "feature_psi": {k: round(v, 5) for k, v in features.items()},
        "feature_psi_max": max(features.values()) if features else None,
    }


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
