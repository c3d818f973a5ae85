"""Drift figures of a scored month: PSI against the package's reference and categories unseen in training."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from rko_model.model.package import bin_shares
from rko_model.runs.monitoring import (
    UNSEEN_WARN,
    add_counts,
    drift,
    drift_counts,
    drift_from_counts,
    unseen_categories,
    unseen_counts,
    unseen_shares,
    unseen_warnings,
)

REFERENCE = {
    "score": {"edges": [0.1, 0.2], "shares": bin_shares(np.array([0.05, 0.15, 0.25, 0.3]), [0.1, 0.2])},
    "features": {},
    "categories": {"region_code": ["77", "78"], "legal_form": ["ИП", "ООО"]},
}


def test_unseen_shares_count_known_values_only() -> None:
    frame = pd.DataFrame(
        {"region_code": ["77", "78", "00", "00", None], "legal_form": ["ИП", "ООО", "ИП", "ООО", "ИП"]},
        dtype="str",
    )
    assert unseen_categories(frame, REFERENCE) == {"region_code": 0.5, "legal_form": 0.0}


def test_older_packages_without_categories_are_not_checked(caplog: pytest.LogCaptureFixture) -> None:
    frame = pd.DataFrame({"region_code": ["00"]})
    with caplog.at_level(logging.INFO):
        assert unseen_categories(frame, {"score": REFERENCE["score"]}) is None
    assert "lists no categories" in caplog.text
    assert unseen_warnings(None) == []


def test_a_warning_per_feature_above_the_threshold(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        messages = unseen_warnings({"region_code": 0.2, "legal_form": UNSEEN_WARN})
    assert len(messages) == 1 and messages[0].startswith("20.0% of region_code values were never seen")
    assert [r.getMessage() for r in caplog.records] == messages


def test_counts_of_chunks_add_up_to_the_whole_month() -> None:
    """Scoring streams chunks and partitions: their counts must give the month's PSI and unseen shares."""
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {"region_code": rng.choice(["00", "77", "78"], 1000), "legal_form": rng.choice(["ИП", "ООО"], 1000)},
        dtype="str",
    )
    scores = rng.random(1000) * 0.4
    chunks = [slice(0, 97), slice(97, 600), slice(600, 1000)]
    drift_parts = [drift_counts(frame.iloc[c], scores[c], REFERENCE) for c in chunks]
    unseen_parts = [unseen_counts(frame.iloc[c], REFERENCE) for c in chunks]
    assert drift_from_counts(add_counts(drift_parts), REFERENCE) == drift(frame, scores, REFERENCE)
    shares = unseen_shares(add_counts(p for p in unseen_parts if p is not None))
    assert shares == unseen_categories(frame, REFERENCE)
    assert shares is not None and shares["region_code"] == pytest.approx(
        (frame["region_code"] == "00").mean(), abs=1e-5
    )
    assert len(unseen_warnings(shares)) == 1  # a third of the regions were never seen
