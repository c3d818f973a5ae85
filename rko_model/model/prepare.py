"""Frames as CatBoost wants them: floats, and strings without NaN in categorical and text columns.

CatBoost rejects NaN in categorical and text columns, and pandas 3 keeps strings in a
string dtype rather than ``object``; both are normalised here, once, for training and scoring.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rko_model.model.spec import FeatureSpec

MISSING_CATEGORY = "__missing__"


def model_matrix(frame: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    """The spec's feature columns, typed for CatBoost (numeric float, others plain ``str`` objects)."""
    spec.check(frame)
    out = {}
    for name in spec.numeric:
        out[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64").to_numpy()
    for name in spec.categorical:
        out[name] = _strings(frame[name], MISSING_CATEGORY)
    for name in spec.text:
        out[name] = _strings(frame[name], "")
    matrix = pd.DataFrame(out, index=frame.index)
    # pandas 3 would infer its string dtype for these columns; CatBoost is fed plain objects.
    strings = [*spec.categorical, *spec.text]
    if strings:
        matrix[strings] = matrix[strings].astype(object)
    return matrix


def _strings(series: pd.Series, fill: str) -> np.ndarray:
    return series.astype("string").fillna(fill).to_numpy(dtype=object)
