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
    columns: dict[str, pd.Series] = {}
    numeric = frame[list(spec.numeric)]
    if len(spec.numeric) and not all(pd.api.types.is_float_dtype(t) for t in numeric.dtypes):
        numeric = numeric.apply(pd.to_numeric, errors="coerce")
    for name, values in zip(spec.numeric, numeric.to_numpy(dtype=np.float64).T, strict=True):
        columns[name] = pd.Series(values, index=frame.index, copy=False)
    # Object dtype on purpose: pandas 3 would infer its string dtype, CatBoost is fed plain objects.
    for name in spec.categorical:
        columns[name] = pd.Series(_strings(frame[name], MISSING_CATEGORY), index=frame.index, dtype=object)
    for name in spec.text:
        columns[name] = pd.Series(_strings(frame[name], ""), index=frame.index, dtype=object)
    return pd.DataFrame(columns, copy=False)


def _strings(series: pd.Series, fill: str) -> np.ndarray:
    """Plain ``str`` objects with ``fill`` for missing values.

    Factorising first turns each distinct value into one Python string, shared by every row
    that holds it, and the distinct values convert in one Arrow call rather than one by one.
    """
    if not (pd.api.types.is_string_dtype(series) or series.dtype == object):
        series = series.astype("string")
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    labels = np.empty(len(uniques) + 1, dtype=object)
    labels[:-1] = np.asarray(uniques, dtype=object)
    if not all(isinstance(v, str) for v in labels[:-1]):
        labels[:-1] = [v if isinstance(v, str) else str(v) for v in labels[:-1]]
    labels[-1] = fill
    codes[codes < 0] = len(labels) - 1
    return labels[codes]
