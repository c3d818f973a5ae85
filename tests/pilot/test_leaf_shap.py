"""CatBoost's approximate SHAP from its leaf indices: CatBoost's numbers, each split credited to its own features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from catboost import CatBoostClassifier, Pool

from rko_model.pilot import leaf_shap, reasons
from rko_model.pilot.leaf_shap import approximate_shap, leaf_table, same_as_catboost, supported


@pytest.fixture(scope="module")
def cat_and_noise_text() -> tuple[CatBoostClassifier, Pool, pd.DataFrame]:
    """Openings driven by a categorical (and a little by a number); the text is random words."""
    rng = np.random.default_rng(0)
    n = 4000
    levels = [f"c{i}" for i in range(30)]
    effect = dict(zip(levels, rng.normal(size=30) * 2, strict=True))
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "cat": rng.choice(levels, n),
            "txt": [" ".join(rng.choice(["alpha", "beta", "gamma", "delta", "eps", "zeta"], 5)) for _ in range(n)],
        }
    )
    logit = frame["cat"].map(effect).to_numpy() + 0.5 * frame["x"].to_numpy()
    target = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    pool = Pool(frame, target, cat_features=["cat"], text_features=["txt"])
    model = CatBoostClassifier(iterations=100, depth=4, verbose=0, random_seed=1, thread_count=1).fit(pool)
    return model, pool, frame


def test_the_values_are_catboosts_for_numbers_and_totals(cat_and_noise_text) -> None:  # type: ignore[no-untyped-def]
    model, pool, _ = cat_and_noise_text
    assert supported(model)
    values = approximate_shap(model, pool, leaf_table(model, pool))
    own = model.get_feature_importance(pool, type="ShapValues", shap_calc_type="Approximate")
    raw = model.predict(pool, prediction_type="RawFormulaVal")
    assert np.allclose(values[:, 0], own[:, 0], atol=1e-12, rtol=0)  # the number, as CatBoost
    assert np.allclose(values.sum(axis=1) + own[:, -1], raw, atol=1e-9, rtol=0)  # additive: the raw score
    assert same_as_catboost(model, pool, values)


def test_each_split_is_credited_to_its_own_feature(cat_and_noise_text) -> None:  # type: ignore[no-untyped-def]
    """The categorical moves the score, the random text hardly: the credits say so (CatBoost 1.2.10's do not)."""
    model, pool, frame = cat_and_noise_text
    values = approximate_shap(model, pool, leaf_table(model, pool))
    base = model.predict(pool, prediction_type="RawFormulaVal")
    other_cat = frame.assign(cat=np.roll(frame["cat"].to_numpy(), 1))
    blank_text = frame.assign(txt="")
    moved_by_cat = np.abs(
        model.predict(Pool(other_cat, cat_features=["cat"], text_features=["txt"]), prediction_type="RawFormulaVal")
        - base
    ).mean()
    moved_by_text = np.abs(
        model.predict(Pool(blank_text, cat_features=["cat"], text_features=["txt"]), prediction_type="RawFormulaVal")
        - base
    ).mean()
    assert moved_by_cat > 3 * moved_by_text
    credit = np.abs(values).mean(axis=0)
    assert credit[1] > 3 * credit[2], credit  # cat over text, as the counterfactuals


@pytest.fixture
def frame_spec(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """A spec of the fixture frame's three columns, whose model matrix is the frame's own columns."""
    spec = type("Spec", (), {})()
    spec.categorical, spec.text, spec.features = ("cat",), ("txt",), ("x", "cat", "txt")
    monkeypatch.setattr(reasons, "model_matrix", lambda chunk, spec: chunk[["x", "cat", "txt"]])
    return spec


def test_a_call_that_disagrees_with_catboost_falls_back_to_catboost(
    cat_and_noise_text,
    frame_spec,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    model, pool, frame = cat_and_noise_text
    spec = frame_spec
    wrong = lambda m, p, t: np.zeros((p.num_row(), 3))  # noqa: E731
    assert not same_as_catboost(model, pool, wrong(model, pool, None))
    monkeypatch.setattr(reasons, "_TABLES", {})  # this model's table not yet checked
    monkeypatch.setattr(reasons, "approximate_shap", wrong)
    values = reasons.contributions(model, frame.iloc[:50], spec, "Approximate")  # type: ignore[arg-type]
    own = model.get_feature_importance(pool.slice(list(range(50))), type="ShapValues", shap_calc_type="Approximate")
    assert np.allclose(values, own[:, :-1])
    assert leaf_shap.CHECK_ROWS > 0


def test_a_models_table_is_checked_once_and_a_disagreement_sends_all_its_calls_to_catboost(
    cat_and_noise_text,
    frame_spec,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    """The check's CatBoost call is a fixed cost per call: made on a model's first call only, whose verdict holds."""
    model, pool, frame = cat_and_noise_text
    spec = frame_spec
    checks: list[bool] = []

    def counted(model, pool, values):  # type: ignore[no-untyped-def]
        checks.append(same_as_catboost(model, pool, values))
        return checks[-1]

    monkeypatch.setattr(reasons, "same_as_catboost", counted)
    monkeypatch.setattr(reasons, "CHUNK_ROWS", 100)
    own = model.get_feature_importance(pool, type="ShapValues", shap_calc_type="Approximate")[:, :-1]
    numeric_and_total = lambda v: np.c_[v[:, 0], v.sum(axis=1)]  # noqa: E731
    for _ in range(2):  # a good table: checked on the first of 10 calls, then trusted
        monkeypatch.setattr(reasons, "_TABLES", {})
        values = reasons.contributions(model, frame.iloc[:1000], spec, "Approximate")  # type: ignore[arg-type]
        assert np.allclose(numeric_and_total(values), numeric_and_total(own[:1000]), atol=1e-9, rtol=0)
    assert checks == [True, True]
    # a table that disagrees: its first call and all the later ones are CatBoost's
    monkeypatch.setattr(reasons, "_TABLES", {})
    monkeypatch.setattr(reasons, "approximate_shap", lambda m, p, t: np.zeros((p.num_row(), 3)))
    values = reasons.contributions(model, frame.iloc[:1000], spec, "Approximate")  # type: ignore[arg-type]
    assert np.allclose(values, own[:1000])
    assert checks == [True, True, False]


def test_without_a_text_feature_every_value_is_catboosts(cat_and_noise_text) -> None:  # type: ignore[no-untyped-def]
    """CatBoost's misattribution needs CTR and text features together: without the text, all columns agree."""
    _, pool, frame = cat_and_noise_text
    plain = Pool(frame[["x", "cat"]], pool.get_label(), cat_features=["cat"])
    model = CatBoostClassifier(iterations=60, depth=4, verbose=0, random_seed=1, thread_count=1).fit(plain)
    values = approximate_shap(model, plain, leaf_table(model, plain))
    own = model.get_feature_importance(plain, type="ShapValues", shap_calc_type="Approximate")[:, :-1]
    assert np.allclose(values, own, atol=1e-12, rtol=0)


@pytest.mark.parametrize("dtype", [np.uint8, np.int64])
def test_leaf_indexes_are_transposed_block_by_block_unchanged(dtype: type) -> None:
    indexes = np.random.default_rng(2).integers(0, 64, size=(leaf_shap.TRANSPOSE_ROWS * 3 + 7, 41)).astype(np.uint32)
    by_tree = leaf_shap._by_tree(indexes, dtype)
    assert by_tree.dtype == dtype and by_tree.flags.c_contiguous
    assert np.array_equal(by_tree, indexes.T)
