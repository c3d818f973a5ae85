"""The baselines the model must beat: the bank's business rules and a logistic regression.

The rules stand for today's hand-written targeting (see ``docs/business_rules.md``): a
points score over a few transparent conditions, ties broken by recent incoming turnover.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from rko_model.model.prepare import model_matrix
from rko_model.model.spec import FeatureSpec

#: (points, description) of each rule; the description is what the report and docs show.
RULES: tuple[tuple[int, str], ...] = (
    (2, "company younger than 3 years"),
    (1, "incoming turnover over the last 3 months above 1 million roubles"),
    (1, "clicked a product banner in the last 3 months"),
    (1, "holds a credit or a deposit with the bank"),
    (1, "registered in Moscow or St Petersburg"),
    (-1, "sole trader (ИП)"),
)


def rules_score(frame: pd.DataFrame) -> np.ndarray:
    """Points from :data:`RULES`, plus a tie-break below one point from recent turnover."""
    age = frame["company_age_months"].to_numpy(dtype=float)
    turnover = frame["turnover_in_3m"].fillna(0.0).to_numpy(dtype=float)
    conditions = (
        age < 36,
        turnover > 1_000_000,
        frame["banner_clicks_3m"].to_numpy(dtype=float) > 0,
        (frame["has_credit"].to_numpy(dtype=float) > 0) | (frame["has_deposit"].to_numpy(dtype=float) > 0),
        frame["region_code"].isin(["77", "78"]).to_numpy(),
        (frame["legal_form"] == "ИП").to_numpy(),
    )
    points = sum(p * np.asarray(c, dtype=float) for (p, _), c in zip(RULES, conditions, strict=True))
    tie_break = pd.Series(turnover).rank(pct=True).to_numpy() * 0.999
    return np.asarray(points, dtype=float) + tie_break


def signed_log1p(x: np.ndarray) -> np.ndarray:
    """``sign(x) * log1p(|x|)``: compresses heavy tails on both sides and keeps the sign.

    Clipping at zero first would turn an all-negative column (a net outflow, a balance in
    overdraft) into a constant and fold a signed one onto its positive half.
    """
    x = np.asarray(x, dtype=float)
    return np.sign(x) * np.log1p(np.abs(x))


def logistic_regression(spec: FeatureSpec, c: float = 0.5) -> Pipeline:
    """Impute, signed-log-scale and standardise numerics; impute and one-hot categoricals; no text."""
    numeric = make_pipeline(
        SimpleImputer(strategy="median", add_indicator=True),
        FunctionTransformer(signed_log1p, feature_names_out="one-to-one"),
        StandardScaler(),
    )
    categorical = OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=20, sparse_output=True)
    columns = ColumnTransformer(
        [("numeric", numeric, list(spec.numeric)), ("categorical", categorical, list(spec.categorical))],
        sparse_threshold=0.3,
    )
    return Pipeline([("columns", columns), ("model", LogisticRegression(C=c, max_iter=2000))])


def fit_logistic_regression(frame: pd.DataFrame, spec: FeatureSpec) -> Pipeline:
    tabular = spec.without_text()
    pipeline = logistic_regression(tabular)
    pipeline.fit(model_matrix(frame, tabular), frame[spec.target].to_numpy())
    return pipeline


def predict_logistic_regression(pipeline: Pipeline, frame: pd.DataFrame, spec: FeatureSpec) -> np.ndarray:
    return pipeline.predict_proba(model_matrix(frame, spec.without_text()))[:, 1]
