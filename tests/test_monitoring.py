"""Drift figures of a scored month: PSI against the package's reference and categories unseen in training."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from rko_model.model.package import bin_shares
from rko_model.monitoring import UNSEEN_WARN, drift, unseen_categories, unseen_warnings

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


def test_drift_carries_the_unseen_shares_and_warnings() -> None:
    frame = pd.DataFrame({"region_code": ["00"] * 3 + ["77"], "legal_form": ["ИП"] * 4})
    figures = drift(frame, np.array([0.05, 0.15, 0.25, 0.3]), REFERENCE)
    assert figures["score_psi"] == pytest.approx(0.0, abs=1e-9)
    assert figures["unseen_categories"] == {"region_code": 0.75, "legal_form": 0.0}
    assert len(figures["warnings"]) == 1
