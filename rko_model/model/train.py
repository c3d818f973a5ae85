"""A generic CatBoost trainer: any frame that matches a :class:`FeatureSpec`.

Nothing here knows about RKO: the same code trains a propensity model for another
product or another bank's data, given its spec.
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from catboost import CatBoostClassifier, Pool

from rko_model.errors import InvalidInputError
from rko_model.model.prepare import model_matrix
from rko_model.model.spec import FeatureSpec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainParams:
    """CatBoost settings; early stopping watches the latest date of the training frame."""

    iterations: int = 500
    learning_rate: float = 0.1
    depth: int = 6
    l2_leaf_reg: float = 5.0
    early_stopping_rounds: int = 60
    random_seed: int = 42
    thread_count: int = -1
    #: Share of negative rows kept for fitting (weighted by its inverse, so probabilities stay
    #: calibrated): rare positives make most negatives redundant, and fitting gets that much faster.
    negative_share: float = 1.0
    extra: dict[str, Any] = field(default_factory=dict)

    def catboost_kwargs(self) -> dict[str, Any]:
        return {
            "iterations": self.iterations,
            "learning_rate": self.learning_rate,
            "depth": self.depth,
            "l2_leaf_reg": self.l2_leaf_reg,
            "random_seed": self.random_seed,
            "thread_count": self.thread_count,
            "loss_function": "Logloss",
            "eval_metric": "AUC",
            # No training logs (catboost_info/) in the working folder: off, and outside it should `extra` turn them on.
            "allow_writing_files": False,
            "train_dir": str(Path(tempfile.gettempdir()) / "rko-catboost-info"),
            "verbose": False,
            **self.extra,
        }

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TrainedModel:
    """A fitted CatBoost model with the spec and settings it was trained with."""

    model: CatBoostClassifier
    spec: FeatureSpec
    params: TrainParams
    fit_rows: int
    eval_rows: int
    best_iteration: int
    fit_dates: tuple[str, ...]
    eval_dates: tuple[str, ...]
    seconds: float

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Probability of the positive class for every row of ``frame``."""
        return predict(self.model, frame, self.spec)


def predict(model: CatBoostClassifier, frame: pd.DataFrame, spec: FeatureSpec) -> np.ndarray:
    pool = Pool(model_matrix(frame, spec), cat_features=list(spec.categorical), text_features=list(spec.text) or None)
    return model.predict_proba(pool)[:, 1]


def split_for_early_stopping(frame: pd.DataFrame, spec: FeatureSpec) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hold out the latest date (out of time); with a single date, a stable 15% of ids."""
    dates = pd.to_datetime(frame[spec.date_column])
    if dates.nunique() > 1:
        latest = dates.max()
        return frame[dates < latest], frame[dates == latest]
    held = (pd.util.hash_pandas_object(frame[spec.id_column], index=False) % 100) < 15
    return frame[~held.to_numpy()], frame[held.to_numpy()]


def downsample_negatives(
    frame: pd.DataFrame, spec: FeatureSpec, share: float, seed: int
) -> tuple[pd.DataFrame, np.ndarray | None]:
    """Keep every positive and ``share`` of the negatives; weights restore the original balance."""
    if share >= 1.0:
        return frame, None
    positive = frame[spec.target].to_numpy() == 1
    keep = positive | (np.random.default_rng(seed).random(len(frame)) < share)
    kept = frame[keep]
    return kept, np.where(positive[keep], 1.0, 1.0 / share)


def train(frame: pd.DataFrame, spec: FeatureSpec, params: TrainParams | None = None) -> TrainedModel:
    """Fit CatBoost on ``frame`` with early stopping on a held-out part of it."""
    params = params or TrainParams()
    spec.check(frame, with_target=True)
    target = frame[spec.target]
    if target.isna().any() or not set(target.unique()) <= {0, 1}:
        raise InvalidInputError(f"target column {spec.target!r} must hold only 0 and 1")
    if target.nunique() < 2:
        raise InvalidInputError(f"target column {spec.target!r} holds a single class: nothing to learn")
    if not 0.0 < params.negative_share <= 1.0:
        raise InvalidInputError(f"negative_share must be in (0, 1], got {params.negative_share}")
    fit, held = split_for_early_stopping(frame, spec)
    fit, weight = downsample_negatives(fit, spec, params.negative_share, params.random_seed)
    cats, texts = list(spec.categorical), list(spec.text) or None
    fit_pool = Pool(
        model_matrix(fit, spec), fit[spec.target].to_numpy(), weight=weight, cat_features=cats, text_features=texts
    )
    eval_pool = Pool(model_matrix(held, spec), held[spec.target].to_numpy(), cat_features=cats, text_features=texts)
    model = CatBoostClassifier(**params.catboost_kwargs())
    started = time.perf_counter()
    log.info("training %s on %d rows, early stopping on %d rows", spec.name, len(fit), len(held))
    model.fit(fit_pool, eval_set=eval_pool, early_stopping_rounds=params.early_stopping_rounds, use_best_model=True)
    seconds = time.perf_counter() - started
    log.info("trained %s: best iteration %d in %.1f s", spec.name, model.get_best_iteration(), seconds)
    return TrainedModel(
        model=model,
        spec=spec,
        params=params,
        fit_rows=len(fit),
        eval_rows=len(held),
        best_iteration=int(model.get_best_iteration()),
        fit_dates=_dates(fit, spec),
        eval_dates=_dates(held, spec),
        seconds=round(seconds, 1),
    )


def _dates(frame: pd.DataFrame, spec: FeatureSpec) -> tuple[str, ...]:
    return tuple(sorted(pd.to_datetime(frame[spec.date_column]).dt.strftime("%Y-%m-%d").unique()))
