"""Reasons: CatBoost's SHAP values of a model with text, grouped into phrased reasons that raise the score."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from catboost import Pool

from rko_model import columns as col
from rko_model.model.dataset import build_dataset
from rko_model.model.prepare import model_matrix
from rko_model.model.spec import rko_spec
from rko_model.model.train import TrainedModel, TrainParams, train
from rko_model.pilot.config import REASON_SHAP
from rko_model.pilot.phrases import PHRASES, TEXT_REASON, TEXT_TOPICS, phrase, reason_code, reason_texts, text_reason
from rko_model.pilot.reasons import contributions, explain, grouped_contributions
from rko_model.settings import Settings
from rko_model.synth.generator import generate
from rko_model.synth.spec import BankSpec
from rko_model.warehouse.bank_writer import write_bank
from rko_model.warehouse.engine import make_engine

MONTHS = [dt.date(2026, 3, 31), dt.date(2026, 4, 30)]


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TrainedModel, pd.DataFrame]]:
    """A small multimodal CatBoost model (text included) and the snapshot rows it scores."""
    folder: Path = tmp_path_factory.mktemp("reasons")
    engine = make_engine(f"sqlite:///{folder / 'wh.db'}")
    write_bank(engine, generate(BankSpec(n_clients=2500, n_months=16, seed=5, last_month=dt.date(2026, 7, 31))))
    settings = Settings.from_env({"RKO_DATA_DIR": str(folder / "data"), "RKO_WAREHOUSE_URL": str(engine.url)})
    frame = build_dataset(engine, MONTHS, settings)
    trained = train(frame, rko_spec(), TrainParams(iterations=80, depth=4, learning_rate=0.2))
    rows = frame[frame[col.REPORT_DATE] == pd.Timestamp(MONTHS[-1])].reset_index(drop=True)
    scores = trained.predict(rows)
    yield trained, rows.iloc[np.argsort(-scores)[:300]].reset_index(drop=True)
    engine.dispose()


def test_the_phrase_table_covers_every_feature() -> None:
    for feature in (*col.NUMERIC_FEATURES, *col.CATEGORICAL_FEATURES, *col.TEXT_FEATURES):
        code = reason_code(feature)
        assert code in PHRASES, feature
        assert phrase(code) and phrase(code, "en")
    for code, _ in TEXT_TOPICS:
        assert code in PHRASES
    assert set(PHRASES[c][0] for c in PHRASES) >= {"profile", "accounts", "payments", "text", "digital"}
    assert text_reason("Оплата по контракту за импортный товар; Оплата аренды офиса") == "text_import"
    assert text_reason("Оплата аренды офиса") == TEXT_REASON and text_reason(None) == TEXT_REASON


#: CatBoost's exact TreeSHAP and its approximate (path-based, Saabas-style) SHAP: the pilot's setting picks one.
SHAP_TYPES = sorted(REASON_SHAP.values())


@pytest.mark.parametrize("shap_calc_type", SHAP_TYPES)
def test_shap_values_of_a_model_with_text_add_up_to_its_score(
    fitted: tuple[TrainedModel, pd.DataFrame], shap_calc_type: str
) -> None:
    """CatBoost 1.2.10 gives per-client contributions with text features: they sum to the raw score."""
    trained, rows = fitted
    spec = trained.spec
    pool = Pool(model_matrix(rows, spec), cat_features=list(spec.categorical), text_features=list(spec.text))
    full = trained.model.get_feature_importance(pool, type="ShapValues", shap_calc_type=shap_calc_type)
    raw = trained.model.predict(pool, prediction_type="RawFormulaVal")
    assert np.allclose(full.sum(axis=1), raw, atol=1e-6)
    text_column = list(spec.features).index(spec.text[0])
    assert np.abs(full[:, text_column]).max() > 0  # the text does get a share


@pytest.mark.parametrize("shap_calc_type", SHAP_TYPES)
def test_each_reason_raises_the_score_when_its_features_are_there(
    fitted: tuple[TrainedModel, pd.DataFrame], shap_calc_type: str
) -> None:
    """A reason's features, replaced by the values of the lowest-scored client, lower the client's score."""
    trained, rows = fitted
    spec = trained.spec
    reasons = explain(trained.model, rows, spec, shap_calc_type=shap_calc_type)
    assert reasons["reason_1"].notna().all() and (reasons["reason_1_value"] > 0).all()
    grouped, codes = grouped_contributions(contributions(trained.model, rows, spec, shap_calc_type), spec)
    base = trained.predict(rows)
    reference = rows.iloc[[int(np.argmin(base))]]
    lowered = checked = 0
    for i, row in reasons.iterrows():
        code = row["reason_1"]
        group = TEXT_REASON if code.startswith("text_") else code
        assert grouped[i, codes.index(group)] == pytest.approx(row["reason_1_value"])
        features = [f for f in spec.features if reason_code(f) == group]
        changed = rows.iloc[[i]].copy()
        for f in features:
            changed[f] = reference[f].to_numpy()
        checked += 1
        lowered += trained.predict(changed)[0] < base[i]
    assert lowered / checked >= 0.8, f"{lowered} of {checked} scores fell"


@pytest.mark.parametrize("shap_calc_type", SHAP_TYPES)
def test_reasons_are_deterministic_and_do_not_depend_on_row_order_or_chunks(
    fitted: tuple[TrainedModel, pd.DataFrame], shap_calc_type: str
) -> None:
    """The same rows give the same reasons, in any order and whichever rows share their SHAP call."""
    trained, rows = fitted
    first = explain(trained.model, rows, trained.spec, shap_calc_type=shap_calc_type).set_index(col.CLIENT_ID)
    shuffled = rows.sample(frac=1.0, random_state=3).reset_index(drop=True)
    again = explain(trained.model, shuffled, trained.spec, shap_calc_type=shap_calc_type)
    pd.testing.assert_frame_equal(first, again.set_index(col.CLIENT_ID).reindex(first.index))
    pieces = [
        explain(trained.model, rows.iloc[s : s + 70], trained.spec, shap_calc_type=shap_calc_type)
        for s in range(0, len(rows), 70)
    ]
    pd.testing.assert_frame_equal(first, pd.concat(pieces).set_index(col.CLIENT_ID))
    assert first["reason_text"].str.len().gt(0).all()
    # the three reasons of a client are distinct and ordered by their contribution
    values = first[["reason_1_value", "reason_2_value", "reason_3_value"]].to_numpy()
    assert np.all(np.nan_to_num(values[:, 0]) >= np.nan_to_num(values[:, 1]))
    codes = first[["reason_1", "reason_2", "reason_3"]]
    assert all(len({c for c in r if c}) == sum(1 for c in r if c) for r in codes.itertuples(index=False))


@pytest.mark.parametrize("shap_calc_type", SHAP_TYPES)
def test_reasons_of_the_model_matrix_the_score_step_keeps_are_those_of_the_snapshot_rows(
    fitted: tuple[TrainedModel, pd.DataFrame], shap_calc_type: str
) -> None:
    trained, rows = fitted
    spec = trained.spec
    raw = explain(trained.model, rows, spec, shap_calc_type=shap_calc_type)
    matrix = model_matrix(rows, spec)
    matrix.insert(0, col.CLIENT_ID, rows[col.CLIENT_ID].to_numpy())
    pd.testing.assert_frame_equal(
        explain(trained.model, matrix, spec, shap_calc_type=shap_calc_type, prepared=True), raw
    )


def test_reason_texts_join_the_phrases_of_each_row() -> None:
    codes = np.array(
        [["balance", None, None], [None, None, None], ["text_import", "industry", "app_use"]], dtype=object
    )
    expected = ["; ".join(phrase(c) for c in row if c) or None for row in codes]
    assert list(reason_texts(codes)) == expected
    assert list(reason_texts(codes, "en")) == ["; ".join(phrase(c, "en") for c in row if c) or None for row in codes]
    assert reason_texts(np.zeros((0, 3), dtype=object)).shape == (0,)


def test_the_docs_show_every_phrase_in_both_languages() -> None:
    from rko_model.settings import PROJECT_ROOT

    doc = (PROJECT_ROOT / "docs" / "reasons.md").read_text(encoding="utf-8")
    for code, (source, ru, en) in PHRASES.items():
        assert f"| `{code}` | {source} | {ru} | {en} |" in doc, code


def test_approximate_reasons_mostly_agree_with_the_exact_ones(fitted: tuple[TrainedModel, pd.DataFrame]) -> None:
    """The default (approximate) names mostly the exact SHAP's reasons; the measured rate is in docs/reasons.md."""
    trained, rows = fitted
    exact = explain(trained.model, rows, trained.spec, shap_calc_type="Regular")
    approximate = explain(trained.model, rows, trained.spec, shap_calc_type="Approximate")
    assert (exact["reason_1"] == approximate["reason_1"]).mean() >= 0.6
    overlap = [
        len({*a} & {*b} - {None})
        for a, b in zip(
            exact[["reason_1", "reason_2", "reason_3"]].itertuples(index=False),
            approximate[["reason_1", "reason_2", "reason_3"]].itertuples(index=False),
            strict=True,
        )
    ]
    assert np.mean(overlap) >= 2.0


def test_the_approximate_contributions_are_catboosts_on_every_row(fitted: tuple[TrainedModel, pd.DataFrame]) -> None:
    """The leaf-table values of a multimodal package: CatBoost's for every numeric feature and every row's total."""
    trained, rows = fitted
    spec = trained.spec
    values = contributions(trained.model, rows, spec, "Approximate")
    pool = Pool(model_matrix(rows, spec), cat_features=list(spec.categorical), text_features=list(spec.text))
    own = trained.model.get_feature_importance(pool, type="ShapValues", shap_calc_type="Approximate")[:, :-1]
    numeric = [i for i, f in enumerate(spec.features) if f in spec.numeric]
    assert np.allclose(values[:, numeric], own[:, numeric], atol=1e-9, rtol=0)
    assert np.allclose(values.sum(axis=1), own.sum(axis=1), atol=1e-9, rtol=0)
