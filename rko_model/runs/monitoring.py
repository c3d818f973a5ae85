"""Run metrics of a scored month: the score distribution and its drift (PSI) against the package's reference.

Drift is computed from bin counts, which add up across the chunks and partitions a month is
scored in, so the month's PSI is the same however it was split.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from rko_model.model.metrics import psi
from rko_model.model.package import bin_counts, shares_of
from rko_model.settings import DEFAULT_PSI_ALERT, DEFAULT_PSI_WARN

#: PSI levels: below WARN stable, from WARN a warning, above ALERT a failure (the defaults of
#: RKO_PSI_WARN / RKO_PSI_ALERT, which the realised-performance monitoring reads from the settings).
PSI_WARN, PSI_ALERT = DEFAULT_PSI_WARN, DEFAULT_PSI_ALERT

#: The key of the score's counts among the features' counts.
SCORE = "__score__"
#: Share of a categorical feature's values unseen in training above which the run warns.
UNSEEN_WARN = 0.05

log = logging.getLogger(__name__)


def drift_counts(frame: pd.DataFrame, scores: np.ndarray, reference: dict[str, Any]) -> dict[str, list[int]]:
    """Bin counts of the score and of the reference's features in ``frame`` (a chunk or a whole month)."""
    counts = {SCORE: bin_counts(np.asarray(scores, dtype=float), reference["score"]["edges"])}
    for name, ref in reference.get("features", {}).items():
        if name in frame.columns:
            counts[name] = bin_counts(frame[name].to_numpy(dtype=float), ref["edges"])
    return counts


def add_counts(parts: Iterable[dict[str, list[int]]]) -> dict[str, list[int]]:
    """The counts of the whole from the counts of its parts."""
    total: dict[str, list[int]] = {}
    for part in parts:
        for name, counts in part.items():
            total[name] = [a + b for a, b in zip(total[name], counts, strict=True)] if name in total else list(counts)
    return total


def drift_from_counts(counts: dict[str, list[int]], reference: dict[str, Any]) -> dict[str, Any]:
    """Score and feature PSI against ``reference`` (a package's ``reference.json``)."""
    features = {
        name: psi(ref["shares"], shares_of(counts[name]))
        for name, ref in reference.get("features", {}).items()
        if name in counts
    }
    return {
        "score_psi": psi(reference["score"]["shares"], shares_of(counts[SCORE])),
        "feature_psi": {k: round(v, 5) for k, v in features.items()},
        "feature_psi_max": max(features.values()) if features else None,
    }


def drift(frame: pd.DataFrame, scores: np.ndarray, reference: dict[str, Any]) -> dict[str, Any]:
    """Score and feature PSI of a whole month in one frame."""
    return drift_from_counts(drift_counts(frame, scores, reference), reference)


def unseen_counts(frame: pd.DataFrame, reference: dict[str, Any]) -> dict[str, list[int]] | None:
    """Per categorical feature, [values training never saw, known values]; None for older packages.

    Missing values are not counted: the model saw those (as their own category). Counts of
    chunks and partitions add up (:func:`add_counts`).
    """
    seen = reference.get("categories")
    if seen is None:
        return None
    counts = {}
    for name, values in seen.items():
        if name in frame.columns:
            known = frame[name].dropna().astype(str)
            counts[name] = [int((~known.isin(values)).sum()), len(known)]
    return counts


def unseen_categories(frame: pd.DataFrame, reference: dict[str, Any]) -> dict[str, float] | None:
    """Per categorical feature, the share of known values that training never saw; None for older packages."""
    return unseen_shares(unseen_counts(frame, reference))


def unseen_shares(counts: dict[str, list[int]] | None) -> dict[str, float] | None:
    if counts is None:
        log.info(
            "the package's reference lists no categories (made before they were recorded): unseen values unchecked"
        )
        return None
    return {name: round(unseen / known, 5) if known else 0.0 for name, (unseen, known) in counts.items()}


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
