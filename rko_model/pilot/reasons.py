"""The top reasons behind a client's score, from CatBoost's own per-client contributions (SHAP values).

CatBoost 1.2.10 computes SHAP values for a model with text features (checked: the values of
every feature, the text one included, plus the expected value add up to the raw score, to
1e-15); the text's value is that of the whole payment-text feature, since CatBoost does not
expose its per-word parts. Contributions are summed over the features of one reason
(:mod:`rko_model.pilot.phrases`: the windows of one aggregate are one reason) and the three
largest *positive* sums are the client's reasons, each raising its log-odds. The text's
reason is phrased by the most telling payment topic in the client's own purposes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from catboost import CatBoostClassifier, Pool

from rko_model import columns as col
from rko_model.model.prepare import model_matrix
from rko_model.model.spec import FeatureSpec
from rko_model.pilot.leaf_shap import LeafTable, approximate_shap, leaf_table, same_as_catboost, supported
from rko_model.pilot.phrases import TEXT_REASON, reason_code, reason_texts, text_reason
from rko_model.warehouse.list_columns import REASON_COLUMNS

log = logging.getLogger(__name__)

#: Rows per SHAP call: bounds the memory of the contributions matrix.
CHUNK_ROWS = 20_000
#: A contribution below this (log-odds) is no reason.
MIN_CONTRIBUTION = 1e-6


@dataclass
class _Table:
    """A loaded model's leaf table (None: the model's trees are not supported) and whether it agrees with CatBoost."""

    model: CatBoostClassifier
    table: LeafTable | None
    agrees: bool | None = None  # None: not yet checked


_TABLES: dict[int, _Table] = {}


def _leaf_table(model: CatBoostClassifier, pool: Pool) -> _Table:
    """The model's (tree, leaf) table, built once per loaded model."""
    key = id(model)
    cached = _TABLES.get(key)
    if cached is None or cached.model is not model:
        _TABLES.clear()  # one package at a time: a worker scores one month with one model
        cached = _TABLES[key] = _Table(model, leaf_table(model, pool) if supported(model) else None)
    return cached


def _catboost_shap(model: CatBoostClassifier, pool: Pool, shap_calc_type: str) -> np.ndarray:
    return model.get_feature_importance(pool, type="ShapValues", shap_calc_type=shap_calc_type)[:, :-1]


def _approximate(model: CatBoostClassifier, pool: Pool) -> np.ndarray:
    """CatBoost's approximate SHAP of ``pool``: the leaf table's once it has agreed with CatBoost on its first rows."""
    cached = _leaf_table(model, pool)
    if cached.table is None or cached.agrees is False:
        return _catboost_shap(model, pool, "Approximate")
    values = approximate_shap(model, pool, cached.table)
    if cached.agrees is None:
        cached.agrees = same_as_catboost(model, pool, values)
        if not cached.agrees:
            return _catboost_shap(model, pool, "Approximate")
    return values


def contributions(
    model: CatBoostClassifier,
    frame: pd.DataFrame,
    spec: FeatureSpec,
    shap_calc_type: str = "Regular",
    *,
    prepared: bool = False,
) -> np.ndarray:
    """Per-row SHAP values of the spec's features (log-odds), without the expected value.

    ``Approximate`` is evaluated from CatBoost's leaf indices (:mod:`rko_model.pilot.leaf_shap`),
    checked on the first rows a loaded model explains against CatBoost's own values (on any
    difference CatBoost computes all of that model's calls); ``Regular`` is CatBoost's exact
    TreeSHAP from ``get_feature_importance``. ``prepared``: ``frame``'s features are a model matrix
    already (:func:`~rko_model.model.prepare.model_matrix`, as the score step keeps them).
    """
    parts = []
    for start in range(0, len(frame), CHUNK_ROWS):
        chunk = frame.iloc[start : start + CHUNK_ROWS]
        matrix = chunk[list(spec.features)] if prepared else model_matrix(chunk, spec)
        pool = Pool(matrix, cat_features=list(spec.categorical), text_features=list(spec.text) or None)
        if shap_calc_type == "Approximate":
            parts.append(_approximate(model, pool))
        else:
            parts.append(_catboost_shap(model, pool, shap_calc_type))
    return np.vstack(parts) if parts else np.zeros((0, len(spec.features)))


def grouped_contributions(values: np.ndarray, spec: FeatureSpec) -> tuple[np.ndarray, list[str]]:
    """Contributions summed per reason code: (rows x codes, codes in first-seen feature order)."""
    codes = [reason_code(f) for f in spec.features]
    unique = list(dict.fromkeys(codes))
    membership = np.zeros((len(codes), len(unique)))
    for i, code in enumerate(codes):
        membership[i, unique.index(code)] = 1.0
    return values @ membership, unique


def explain(
    model: CatBoostClassifier,
    frame: pd.DataFrame,
    spec: FeatureSpec,
    top: int = 3,
    shap_calc_type: str = "Regular",
    *,
    prepared: bool = False,
) -> pd.DataFrame:
    """``client_id``, the top reason codes, their contributions and ``reason_text`` for every row of ``frame``.

    ``prepared``: ``frame`` holds ``client_id`` and a model matrix of the features (see :func:`contributions`).
    """
    values = contributions(model, frame, spec, shap_calc_type, prepared=prepared)
    grouped, codes = grouped_contributions(values, spec)
    order = np.argsort(-grouped, axis=1, kind="stable")[:, :top]
    top_values = np.take_along_axis(grouped, order, axis=1)
    names = np.asarray(codes, dtype=object)[order]
    names[top_values <= MIN_CONTRIBUTION] = None
    if spec.text:
        rows, columns = np.nonzero(names == TEXT_REASON)
        texts = frame[spec.text[0]].to_numpy(dtype=object)[rows]  # only the rows whose reason is the text
        names[rows, columns] = [text_reason(t) for t in texts]
    out = pd.DataFrame({col.CLIENT_ID: frame[col.CLIENT_ID].to_numpy(dtype=np.int64)})
    for i, name in enumerate(REASON_COLUMNS[:top]):
        out[name] = names[:, i]
        out[f"{name}_value"] = np.where(top_values[:, i] > MIN_CONTRIBUTION, top_values[:, i], np.nan)
    out["reason_text"] = reason_texts(names)
    return out
