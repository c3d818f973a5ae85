"""A generic CatBoost trainer: any frame that matches a :class:`FeatureSpec`.

Nothing here knows about RKO: the same code trains a propensity model for another
product or another bank's data, given its spec.

How a fit goes: the number of trees is chosen by early stopping on a validation scheme that
fits the data (the latest dates held out for panel data; a stratified random holdout or k
folds for a frame whose date has one value or no order), then the final model is refit on
every training row with that count scaled to the larger data. The cap on trees is set high
so that early stopping, not the cap, ends the search; a best iteration near the cap is
logged as a warning and carried in :class:`TrainedModel` for the report.
"""

from __future__ import annotations

import logging
import math
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from catboost import CatBoostClassifier, Pool

from rko_model.errors import InvalidInputError
from rko_model.model import defaults as D
from rko_model.model.prepare import model_matrix
from rko_model.model.spec import FeatureSpec

log = logging.getLogger(__name__)

VALIDATION_SCHEMES = ("time", "random", "kfold")
#: CatBoost text processing by name. "default": CatBoost's own (word and bigram bags, naive Bayes over words).
#: "bm25": the same dictionaries kept from 3 occurrences, with BM25 beside naive Bayes over words; the defaults
#: search chose it (docs/results/model_defaults.md).
TEXT_PROCESSING: dict[str, dict[str, Any] | None] = {
    "default": None,
    "bm25": {
        "tokenizers": [
            {"tokenizer_id": "Space", "separator_type": "ByDelimiter", "delimiter": " ", "lowercasing": "true"}
        ],
        "dictionaries": [
            {
                "dictionary_id": "BiGram",
                "max_dictionary_size": "50000",
                "occurrence_lower_bound": "3",
                "gram_order": "2",
            },
            {"dictionary_id": "Word", "max_dictionary_size": "50000", "occurrence_lower_bound": "3", "gram_order": "1"},
        ],
        "feature_processing": {
            "default": [
                {"dictionaries_names": ["BiGram", "Word"], "feature_calcers": ["BoW"], "tokenizers_names": ["Space"]},
                {
                    "dictionaries_names": ["Word"],
                    "feature_calcers": ["NaiveBayes", "BM25"],
                    "tokenizers_names": ["Space"],
                },
            ]
        },
    },
}
#: Fewest positives a held-out block needs before its AUC is worth stopping on.
MIN_HELD_POSITIVES = 50


@dataclass(frozen=True)
class TrainParams:
    """CatBoost settings and the validation scheme; defaults from :mod:`rko_model.model.defaults`."""

    iterations: int = D.ITERATIONS
    learning_rate: float = D.LEARNING_RATE
    depth: int = D.DEPTH
    l2_leaf_reg: float = D.L2_LEAF_REG
    early_stopping_rounds: int = D.EARLY_STOPPING_ROUNDS
    random_seed: int = D.RANDOM_SEED
    thread_count: int = -1
    #: Share of negative rows kept for fitting (weighted by its inverse, so probabilities stay
    #: calibrated). Off (1.0) by default: it costs accuracy; it saves memory for banks that need it.
    negative_share: float = D.NEGATIVE_SHARE
    validation: str = D.VALIDATION
    validation_share: float = D.VALIDATION_SHARE
    folds: int = D.FOLDS
    #: Time holdouts (rolling origin): the latest block, then the block before it, each purged;
    #: the tree count is the mean over blocks, which steadies it against one block's noise.
    time_folds: int = D.TIME_FOLDS
    refit: bool = D.REFIT
    text_processing: str = D.TEXT_PROCESSING
    #: A fixed number of trees: no validation, one fit on every row (walk-forward retraining).
    fixed_iterations: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.validation not in VALIDATION_SCHEMES:
            raise InvalidInputError(f"validation must be one of {VALIDATION_SCHEMES}, got {self.validation!r}")
        if self.text_processing not in TEXT_PROCESSING:
            raise InvalidInputError(
                f"text_processing must be one of {sorted(TEXT_PROCESSING)}, got {self.text_processing!r}"
            )
        if not 0.0 < self.negative_share <= 1.0:
            raise InvalidInputError(f"negative_share must be in (0, 1], got {self.negative_share}")
        if not 0.0 < self.validation_share < 1.0:
            raise InvalidInputError(f"validation_share must be in (0, 1), got {self.validation_share}")
        if self.folds < 2:
            raise InvalidInputError(f"folds must be at least 2, got {self.folds}")
        if self.time_folds < 1:
            raise InvalidInputError(f"time_folds must be at least 1, got {self.time_folds}")

        if self.iterations < 1 or (self.fixed_iterations is not None and self.fixed_iterations < 1):
            raise InvalidInputError("iterations must be positive")

    def catboost_kwargs(self, iterations: int | None = None, with_text: bool = False) -> dict[str, Any]:
        kwargs = {
            "iterations": iterations or self.iterations,
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
        }
        processing = TEXT_PROCESSING[self.text_processing]
        if with_text and processing is not None:
            kwargs["text_processing"] = processing
        return {**kwargs, **self.extra}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TrainedModel:
    """A fitted CatBoost model with the spec and settings it was trained with, and how its trees were chosen."""

    model: CatBoostClassifier
    spec: FeatureSpec
    params: TrainParams
    fit_rows: int  # rows of the final fit (every training row when refit)
    eval_rows: int  # held-out rows of the validation (all rows, in turn, for k folds)
    best_iteration: int  # trees chosen on validation, minus one (CatBoost's convention)
    fit_dates: tuple[str, ...]
    eval_dates: tuple[str, ...]
    seconds: float
    validation: str = "time"  # the scheme actually used
    iterations: int = 0  # trees of the final model
    refit: bool = False
    near_cap: bool = False  # the best iteration landed within 5% of the cap: raise the cap
    fold_best: tuple[int, ...] = ()

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Probability of the positive class for every row of ``frame``."""
        return predict(self.model, frame, self.spec)

    def summary(self) -> dict[str, Any]:
        """How the trees were chosen, for the manifest and the report."""
        return {
            "validation": self.validation,
            "best_iteration": self.best_iteration,
            "cap": self.params.iterations,
            "near_cap": self.near_cap,
            "trees": self.iterations,
            "refit_on_all_rows": self.refit,
            "fit_rows": self.fit_rows,
            "validation_rows": self.eval_rows,
            "validation_dates": list(self.eval_dates),
            "fold_best": list(self.fold_best),
            "seconds": self.seconds,
        }


def predict(model: CatBoostClassifier, frame: pd.DataFrame, spec: FeatureSpec) -> np.ndarray:
    return predict_matrix(model, model_matrix(frame, spec), spec)


def predict_matrix(model: CatBoostClassifier, matrix: pd.DataFrame, spec: FeatureSpec) -> np.ndarray:
    """:func:`predict` of rows already made a model matrix (:func:`~rko_model.model.prepare.model_matrix`)."""
    pool = Pool(matrix, cat_features=list(spec.categorical), text_features=list(spec.text) or None)
    return model.predict_proba(pool)[:, 1]


def resolve_validation(frame: pd.DataFrame, spec: FeatureSpec, scheme: str) -> str:
    """The scheme that fits the frame: a time holdout needs at least two dates in order."""
    if scheme != "time":
        return scheme
    dates = pd.to_datetime(frame[spec.date_column], errors="coerce")
    if dates.isna().any() or dates.nunique() < 2:
        log.info("%s: the date column has one value or no order: a stratified random holdout instead", spec.name)
        return "random"
    return "time"


def time_holdout(frame: pd.DataFrame, spec: FeatureSpec, share: float, purge: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Masks (fit, held) holding out the latest dates: at least ``share`` of rows and enough positives.

    A single last block can be unrepresentative (few rows, few positives, a drifting base
    rate): the block grows, date by date, until it is big enough, and always leaves at least
    one date to fit on. AUC, the stopping metric, ranks within the block, so a base rate that
    drifts does not stop the fit early by itself. ``purge``: the dates just before the block are
    left out of the fit (a gap as wide as the label windows overlap), as many as leave one to fit on.
    """
    dates = pd.to_datetime(frame[spec.date_column]).to_numpy()
    target = frame[spec.target].to_numpy()
    ordered = np.sort(np.unique(dates))
    held = np.zeros(len(frame), dtype=bool)
    for cut in ordered[::-1][:-1]:
        held = dates >= cut
        if held.mean() >= share and int(target[held].sum()) >= min(MIN_HELD_POSITIVES, int(target.sum()) // 4):
            break
    before = np.sort(np.unique(dates[~held]))
    gap = min(purge, len(before) - 1)
    if gap < purge:
        log.warning("time holdout: %d date(s) before the held block, so only %d purged of %d", len(before), gap, purge)
    fit = ~held if gap <= 0 else dates < before[-gap]
    return fit, held


def time_folds(
    frame: pd.DataFrame, spec: FeatureSpec, share: float, purge: int, folds: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Up to ``folds`` purged time holdouts, latest first: each next one is cut from the dates before
    the previous held block, as :func:`time_holdout` cuts the first (rolling origin).

    Fewer folds come back when the earlier dates cannot hold another block and a fit of at least
    ``purge + 1`` dates (a short frame gets one).
    """
    dates = pd.to_datetime(frame[spec.date_column]).to_numpy()
    out = [time_holdout(frame, spec, share, purge)]
    while len(out) < folds:
        earlier = dates < dates[out[-1][1]].min()
        if np.unique(dates[earlier]).size < purge + 3:
            break
        sub = frame[earlier]
        fit, held = time_holdout(sub, spec, share, purge)
        if not fit.any() or int(sub[spec.target].to_numpy()[held].sum()) == 0:
            break
        fit_mask, held_mask = np.zeros(len(frame), bool), np.zeros(len(frame), bool)
        fit_mask[np.flatnonzero(earlier)[fit]] = True
        held_mask[np.flatnonzero(earlier)[held]] = True
        out.append((fit_mask, held_mask))
    return out


def random_holdout(frame: pd.DataFrame, spec: FeatureSpec, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Masks (fit, held): ``share`` of the rows of each class, at random (stratified)."""
    folds = stratified_folds(frame[spec.target].to_numpy(), round(1 / share), seed)
    held = folds == 0
    return ~held, held


def stratified_folds(target: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Fold number of every row: each class spread evenly over ``k`` folds in a seeded random order."""
    rng = np.random.default_rng(seed)
    folds = np.empty(len(target), dtype=np.int64)
    for value in np.unique(target):
        rows = np.flatnonzero(target == value)
        folds[rng.permutation(rows)] = np.arange(len(rows)) % k
    return folds


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


def _pool(frame: pd.DataFrame, spec: FeatureSpec, weight: np.ndarray | None = None) -> Pool:
    return Pool(
        model_matrix(frame, spec),
        frame[spec.target].to_numpy(),
        weight=weight,
        cat_features=list(spec.categorical),
        text_features=list(spec.text) or None,
    )


def _best_trees(fit: pd.DataFrame, held: pd.DataFrame, spec: FeatureSpec, params: TrainParams) -> tuple[int, Any]:
    """Early stopping on ``held``: (best iteration, the stopped model)."""
    fit, weight = downsample_negatives(fit, spec, params.negative_share, params.random_seed)
    model = CatBoostClassifier(**params.catboost_kwargs(with_text=bool(spec.text)))
    model.fit(
        _pool(fit, spec, weight),
        eval_set=_pool(held, spec),
        early_stopping_rounds=params.early_stopping_rounds,
        use_best_model=True,
    )
    return int(model.get_best_iteration()), model


def _check(frame: pd.DataFrame, spec: FeatureSpec) -> None:
    spec.check(frame, with_target=True)
    target = frame[spec.target]
    if target.isna().any() or not set(target.unique()) <= {0, 1}:
        raise InvalidInputError(f"target column {spec.target!r} must hold only 0 and 1")
    if target.nunique() < 2:
        raise InvalidInputError(f"target column {spec.target!r} holds a single class: nothing to learn")


def train(frame: pd.DataFrame, spec: FeatureSpec, params: TrainParams | None = None) -> TrainedModel:
    """Choose the number of trees on validation, then fit the final model on every row of ``frame``."""
    params = params or TrainParams()
    _check(frame, spec)
    started = time.perf_counter()
    if params.fixed_iterations is not None:
        model = _fit_all(frame, spec, params, params.fixed_iterations)
        return _trained(model, frame, spec, params, started, "fixed", params.fixed_iterations - 1, frame, None, ())
    scheme = resolve_validation(frame, spec, params.validation)
    if scheme == "kfold":
        folds = stratified_folds(frame[spec.target].to_numpy(), params.folds, params.random_seed)
        fold_best = []
        for k in range(params.folds):
            log.info("%s: fold %d/%d", spec.name, k + 1, params.folds)
            best, _ = _best_trees(frame[folds != k], frame[folds == k], spec, params)
            fold_best.append(best)
        best = round(float(np.mean(fold_best)))
        fit_share = (params.folds - 1) / params.folds
        fit, held_frame, probe = frame, frame, None
    elif scheme == "time" and params.time_folds > 1:
        blocks = time_folds(frame, spec, params.validation_share, spec.label_overlap, params.time_folds)
        fold_best, scaled = [], []
        for k, (fit_mask, held_mask) in enumerate(blocks):
            log.info(
                "%s: time fold %d/%d: choosing trees on %d rows, validating on %d",
                spec.name,
                k + 1,
                len(blocks),
                int(fit_mask.sum()),
                int(held_mask.sum()),
            )
            best_k, model_k = _best_trees(frame[fit_mask], frame[held_mask], spec, params)
            fold_best.append(best_k)
            scaled.append((best_k + 1) * len(frame) / int(fit_mask.sum()))
            if k == 0:
                probe, fit, held_frame = model_k, frame[fit_mask], frame[held_mask]
        # The count for all rows, averaged over folds (each scaled from its own fit); expressed back on
        # the latest fold's fit so that the refit below scales it like a single holdout.
        fit_share = len(fit) / len(frame)
        best = max(0, round(float(np.mean(scaled)) * fit_share) - 1)
    else:
        if scheme == "time":
            fit_mask, held_mask = time_holdout(frame, spec, params.validation_share, spec.label_overlap)
        else:
            fit_mask, held_mask = random_holdout(frame, spec, params.validation_share, params.random_seed)
        fit, held_frame = frame[fit_mask], frame[held_mask]
        log.info(
            "%s: choosing trees on %d rows, validating on %d (%s holdout)", spec.name, len(fit), len(held_frame), scheme
        )
        best, probe = _best_trees(fit, held_frame, spec, params)
        fold_best, fit_share = [best], len(fit) / len(frame)
    near_cap = best + 1 >= (1.0 - D.NEAR_CAP_SHARE) * params.iterations
    if near_cap:
        log.warning(
            "%s: best iteration %d is within %.0f%% of the cap %d: early stopping did not fire; raise the cap "
            "(iterations) or the learning rate",
            spec.name,
            best + 1,
            100 * D.NEAR_CAP_SHARE,
            params.iterations,
        )
    if params.refit or probe is None:
        trees = max(1, math.ceil((best + 1) / fit_share))
        log.info(
            "%s: best iteration %d on validation; refit on all %d rows with %d trees",
            spec.name,
            best + 1,
            len(frame),
            trees,
        )
        model = _fit_all(frame, spec, params, trees)
        fit_rows = frame
    else:  # the stopped model itself, fitted on the rows outside the holdout
        model, fit_rows = probe, fit
    return _trained(model, fit_rows, spec, params, started, scheme, best, held_frame, near_cap, tuple(fold_best))


def _fit_all(frame: pd.DataFrame, spec: FeatureSpec, params: TrainParams, trees: int) -> CatBoostClassifier:
    fit, weight = downsample_negatives(frame, spec, params.negative_share, params.random_seed)
    model = CatBoostClassifier(**params.catboost_kwargs(iterations=trees, with_text=bool(spec.text)))
    model.fit(_pool(fit, spec, weight))
    return model


def _trained(
    model: CatBoostClassifier,
    fit_rows: pd.DataFrame,
    spec: FeatureSpec,
    params: TrainParams,
    started: float,
    scheme: str,
    best: int,
    held: pd.DataFrame,
    near_cap: bool | None,
    fold_best: tuple[int, ...],
) -> TrainedModel:
    seconds = round(time.perf_counter() - started, 1)
    log.info("trained %s: %d trees (%s) in %.1f s", spec.name, model.tree_count_, scheme, seconds)
    return TrainedModel(
        model=model,
        spec=spec,
        params=params,
        fit_rows=len(fit_rows),
        eval_rows=0 if scheme == "fixed" else len(held),
        best_iteration=best,
        fit_dates=_dates(fit_rows, spec),
        eval_dates=() if scheme == "fixed" else _dates(held, spec),
        seconds=seconds,
        validation=scheme,
        iterations=int(model.tree_count_),
        refit=scheme == "fixed" or params.refit,
        near_cap=bool(near_cap),
        fold_best=fold_best,
    )


def _dates(frame: pd.DataFrame, spec: FeatureSpec) -> tuple[str, ...]:
    dates = pd.to_datetime(frame[spec.date_column], errors="coerce").dropna()
    return tuple(sorted(dates.dt.strftime("%Y-%m-%d").unique()))
