"""The trainer is generic: it learns from any frame that matches a spec, not only the RKO snapshot."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rko_model.errors import InvalidInputError
from rko_model.model import metrics
from rko_model.model.spec import FeatureSpec
from rko_model.model.train import TrainParams, random_holdout, stratified_folds, time_folds, time_holdout, train

FAST = TrainParams(iterations=150, learning_rate=0.15, depth=4, early_stopping_rounds=30)


def _other_product(n: int = 6000, seed: int = 3) -> tuple[pd.DataFrame, FeatureSpec]:
    """A made-up deposit-propensity frame: other names, NaN in categories and text, pandas 3 strings."""
    rng = np.random.default_rng(seed)
    city = rng.choice(["Казань", "Омск", None], size=n, p=[0.45, 0.45, 0.1])
    words = rng.choice(["депозит процент", "кредит", "зарплата", None], size=n, p=[0.2, 0.3, 0.3, 0.2])
    age = rng.uniform(18, 80, n)
    logit = -2 + 1.5 * (words == "депозит процент") + 0.04 * (age - 50) + 0.8 * (city == "Казань")
    frame = pd.DataFrame(
        {
            "customer": np.arange(n),
            "as_of": pd.to_datetime(rng.choice(["2025-01-31", "2025-02-28", "2025-03-31"], size=n)),
            "age": age,
            "income": np.where(rng.random(n) < 0.1, np.nan, rng.lognormal(11, 1, n)),
            "city": pd.array(city, dtype="string"),
            "notes": pd.Series(words, dtype="str"),
            "opened_deposit": (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int),
        }
    )
    spec = FeatureSpec(
        "customer",
        "as_of",
        "opened_deposit",
        numeric=("age", "income"),
        categorical=("city",),
        text=("notes",),
        name="deposit",
    )
    return frame, spec


def test_trains_on_any_frame_matching_a_spec() -> None:
    frame, spec = _other_product()
    model = train(frame, spec, FAST)
    assert model.validation == "time" and model.eval_dates == ("2025-03-31",)
    assert model.fit_dates == ("2025-01-31", "2025-02-28", "2025-03-31")  # refit on every row
    p = model.predict(frame)
    assert ((p > 0) & (p < 1)).all()
    assert metrics.gini(frame["opened_deposit"], p) > 0.4
    assert 0.5 < p.mean() / frame["opened_deposit"].mean() < 2  # probabilities, not arbitrary scores


def test_a_single_date_frame_trains_with_a_stratified_random_holdout() -> None:
    frame, spec = _other_product()
    frame["as_of"] = pd.Timestamp("2025-01-31")
    model = train(frame, spec, FAST)
    assert model.validation == "random"
    assert 0.1 < model.eval_rows / len(frame) < 0.2
    fit, held = random_holdout(frame, spec, 0.15, seed=5)
    assert not (fit & held).any() and (fit | held).all()
    rate = frame["opened_deposit"].mean()
    assert abs(frame["opened_deposit"][held].mean() - rate) < 0.005  # stratified: same base rate


def test_k_folds_choose_the_trees_from_every_fold() -> None:
    frame, spec = _other_product(3000)
    model = train(frame, spec, TrainParams(**{**FAST.to_dict(), "validation": "kfold", "folds": 3}))
    assert model.validation == "kfold" and len(model.fold_best) == 3
    assert model.best_iteration == round(float(np.mean(model.fold_best)))
    folds = stratified_folds(frame["opened_deposit"].to_numpy(), 3, seed=1)
    assert sorted(np.bincount(folds)) == sorted(np.bincount(folds))  # every row in one fold
    assert np.ptp(np.bincount(folds)) <= 2


def test_early_stopping_fires_below_a_high_cap() -> None:
    """A small noisy frame overfits fast: the best iteration lands far below the cap, no warning."""
    frame, spec = _other_product(3000)
    model = train(frame, spec, TrainParams(iterations=3000, learning_rate=0.3, depth=6, early_stopping_rounds=40))
    assert model.best_iteration + 1 < 0.5 * 3000 and not model.near_cap


def test_a_best_iteration_at_the_cap_is_reported(caplog: pytest.LogCaptureFixture) -> None:
    frame, spec = _other_product(3000)
    # Tiny steps on the log loss: every one of the 30 trees still helps, so the fit ends at the cap.
    params = TrainParams(iterations=30, learning_rate=0.01, depth=4, extra={"eval_metric": "Logloss"})
    with caplog.at_level("WARNING", logger="rko_model.model.train"):
        model = train(frame, spec, params)
    assert model.near_cap and model.summary()["near_cap"]
    assert "within 5% of the cap" in caplog.text


def test_the_final_model_is_refit_on_every_row_with_the_count_scaled() -> None:
    frame, spec = _other_product()
    model = train(frame, spec, FAST)
    assert model.refit and model.fit_rows == len(frame)
    fitted, _ = time_holdout(frame, spec, FAST.validation_share, spec.label_overlap)  # the rows trees were chosen on
    assert model.iterations == int(np.ceil((model.best_iteration + 1) / fitted.mean()))
    assert model.model.tree_count_ == model.iterations
    stopped = train(frame, spec, TrainParams(**{**FAST.to_dict(), "refit": False}))
    assert stopped.fit_rows == len(frame) - stopped.eval_rows and not stopped.refit


def _drifting(n_dates: int = 8, per_date: int = 2500, seed: int = 4) -> tuple[pd.DataFrame, FeatureSpec]:
    """A stable signal under a base rate that drifts from 2% to 40%, with a thin last date."""
    rng = np.random.default_rng(seed)
    frames = []
    for i, date in enumerate(pd.date_range("2024-01-31", periods=n_dates, freq="ME")):
        n = per_date if i < n_dates - 1 else per_date // 10  # an unrepresentative last block
        x = rng.normal(size=(n, 3))
        base = np.log(0.02 / 0.98) + i * (np.log(0.4 / 0.6) - np.log(0.02 / 0.98)) / (n_dates - 1)
        logit = base + 1.2 * x[:, 0] - 0.8 * x[:, 1] + 0.6 * x[:, 0] * x[:, 2]
        frames.append(
            pd.DataFrame(
                {
                    "a": x[:, 0],
                    "b": x[:, 1],
                    "c": x[:, 2],
                    "date": date,
                    "y": (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int),
                }
            )
        )
    frame = pd.concat(frames, ignore_index=True)
    frame["id"] = np.arange(len(frame))
    return frame, FeatureSpec("id", "date", "y", numeric=("a", "b", "c"), name="drifting")


def test_a_drifting_base_rate_and_a_thin_last_block_do_not_cut_training_short() -> None:
    frame, spec = _drifting()
    fit, held = time_holdout(frame, spec, 0.15)
    assert held.mean() >= 0.15  # the block grew past the thin last date
    assert pd.to_datetime(frame["date"][held]).min() > pd.to_datetime(frame["date"][fit]).max()
    params = TrainParams(iterations=2000, learning_rate=0.05, depth=4, early_stopping_rounds=60)
    model = train(frame, spec, params)
    assert model.best_iteration + 1 >= 100  # not stopped after a few dozen trees
    fresh, _ = _drifting(seed=9)
    plain = train(frame, spec, TrainParams(**{**params.to_dict(), "fixed_iterations": 600}))
    y = fresh["y"].to_numpy()
    assert metrics.gini(y, model.predict(fresh)) >= metrics.gini(y, plain.predict(fresh)) - 0.02


def test_the_time_holdout_purges_the_dates_whose_labels_overlap_the_held_block() -> None:
    """Panel rows of the 2 months before the held block share its openings: they are not fitted on."""
    frame, spec = _drifting()
    dates = pd.to_datetime(frame["date"])
    ordered = sorted(dates.unique())
    fit, held = time_holdout(frame, spec, 0.15, purge=2)
    first_held = dates[held].min()
    between = [d for d in ordered if dates[fit].max() < d < first_held]
    assert len(between) == 2 and not (fit & held).any()
    assert dates[fit].max() == ordered[ordered.index(first_held) - 3]
    unpurged, _ = time_holdout(frame, spec, 0.15)
    assert unpurged.sum() > fit.sum()
    tiny = frame[dates.isin(ordered[-3:])]  # too few dates: fewer purged, one left to fit on
    fit, held = time_holdout(tiny, spec, 0.15, purge=5)
    assert fit.any() and held.any()


def test_rolling_time_folds_are_purged_disjoint_and_latest_first() -> None:
    """Each earlier fold is cut before the later held block, with its own purge gap."""
    frame, spec = _drifting()
    dates = pd.to_datetime(frame["date"])
    blocks = time_folds(frame, spec, 0.15, purge=2, folds=3)
    assert len(blocks) == 3
    assert blocks[0][0].tolist() == time_holdout(frame, spec, 0.15, purge=2)[0].tolist()  # the first is the holdout
    ordered = sorted(dates.unique())
    for k, (fit, held) in enumerate(blocks):
        first_held = dates[held].min()
        assert not (fit & held).any() and held.any()
        assert dates[fit].max() == ordered[ordered.index(first_held) - 3]  # two dates purged
        if k:
            assert dates[held].max() < dates[blocks[k - 1][1]].min()  # strictly before the later block
    short = frame[dates.isin(ordered[-5:])]  # no room for a second block: one fold
    assert len(time_folds(short, spec, 0.15, purge=2, folds=3)) == 1


def test_the_tree_count_is_the_mean_over_time_folds() -> None:
    frame, spec = _drifting()
    model = train(frame, spec, TrainParams(**{**FAST.to_dict(), "time_folds": 3}))
    assert len(model.fold_best) == 3 and model.validation == "time"
    blocks = time_folds(frame, spec, FAST.validation_share, 0, 3)
    scaled = [(b + 1) * len(frame) / int(fit.sum()) for b, (fit, _) in zip(model.fold_best, blocks, strict=True)]
    assert abs(model.iterations - np.mean(scaled)) <= 2  # refit with the mean of the folds' scaled counts


def test_bad_targets_are_refused() -> None:
    frame, spec = _other_product(300)
    with pytest.raises(InvalidInputError, match="only 0 and 1"):
        train(frame.assign(opened_deposit=2), spec, FAST)
    with pytest.raises(InvalidInputError, match="single class"):
        train(frame.assign(opened_deposit=0), spec, FAST)
    with pytest.raises(InvalidInputError, match="lacks columns"):
        train(frame.drop(columns=["notes"]), spec, FAST)


def test_negative_downsampling_keeps_positives_and_calibration() -> None:
    from rko_model.model.train import downsample_negatives

    frame, spec = _other_product(20000)
    kept, weight = downsample_negatives(frame, spec, 0.25, seed=1)
    positives = frame["opened_deposit"] == 1
    assert kept["opened_deposit"].sum() == positives.sum()
    assert weight is not None and set(np.unique(weight)) == {1.0, 4.0}
    negatives_weighted = weight[kept["opened_deposit"].to_numpy() == 0].sum()
    assert abs(negatives_weighted / (~positives).sum() - 1) < 0.05
    model = train(frame, spec, TrainParams(**{**FAST.to_dict(), "negative_share": 0.3}))
    p = model.predict(frame)
    assert 0.8 < p.mean() / frame["opened_deposit"].mean() < 1.25  # still probabilities of the full population
    with pytest.raises(InvalidInputError, match="negative_share"):
        TrainParams(negative_share=0.0)
    with pytest.raises(InvalidInputError, match="validation"):
        TrainParams(validation="latest")


def test_text_processing_is_named_and_reaches_catboost_only_for_a_text_model() -> None:
    bm25 = TrainParams(text_processing="bm25")
    processing = bm25.catboost_kwargs(with_text=True)["text_processing"]
    calcers = [c for step in processing["feature_processing"]["default"] for c in step["feature_calcers"]]
    assert "BM25" in calcers and "NaiveBayes" in calcers
    assert "text_processing" not in bm25.catboost_kwargs(with_text=False)  # a tabular model has no text
    assert "text_processing" not in TrainParams(text_processing="default").catboost_kwargs(with_text=True)
    with pytest.raises(InvalidInputError, match="text_processing"):
        TrainParams(text_processing="trigrams")
