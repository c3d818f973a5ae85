"""Out-of-time retro tests: every model trained on the same months, scored on later months.

Models compared: the business rules, logistic regression, CatBoost on tabular features,
and CatBoost multimodal (tabular + categorical + payment-purpose text). The ablation adds
one data source at a time. All functions are pure: frames in, frames and dataclasses out.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from rko_model import columns as col
from rko_model.model import metrics
from rko_model.model.baselines import fit_logistic_regression, predict_logistic_regression, rules_score
from rko_model.model.spec import FeatureSpec, rko_spec
from rko_model.model.train import TrainedModel, TrainParams, train

log = logging.getLogger(__name__)

RULES, LOGREG, TABULAR, MULTIMODAL = "rules", "logreg", "catboost_tabular", "catboost_multimodal"
MODELS = (RULES, LOGREG, TABULAR, MULTIMODAL)
#: A plain CatBoostClassifier (1000 trees, learning rate 0.05, depth 6, every row, no early
#: stopping): the yardstick the packaged recipe must match (bench and optional in a run).
PLAIN = "catboost_plain"
PLAIN_KWARGS = {"iterations": 1000, "learning_rate": 0.05, "depth": 6}
#: Order in which the ablation adds sources (the last step is the multimodal model).
ABLATION_STEPS = tuple(col.SOURCES)


@dataclass(frozen=True)
class RetroResult:
    """Everything the report shows, as frames."""

    monthly: pd.DataFrame  # model, month, gini, lift_top10, precision_top5/10, brier, ceiling_gini, oracle_gini, ...
    summary: pd.DataFrame  # per model: gini mean, std, min; lift and precision means; share of ceiling
    ablation: pd.DataFrame  # step, sources, gini mean/std/min, gain over the previous step
    business: pd.DataFrame  # per month: uplift and cost saving of the multimodal model over the rules
    reliability: pd.DataFrame  # month, bin, predicted, observed, n (multimodal model)
    predictions: pd.DataFrame  # id, month, target, one score column per model
    champion: TrainedModel = field(repr=False)  # the multimodal model that was tested
    importance: pd.DataFrame = field(default_factory=pd.DataFrame)  # feature, source, importance (share)
    walk_forward: pd.DataFrame = field(default_factory=pd.DataFrame)  # strategy, month, trained_at, gini

    def headline(self) -> dict[str, float]:
        s = self.summary.set_index("model")
        b = self.business
        return {
            "gini_mean": float(s.loc[MULTIMODAL, "gini_mean"]),
            "gini_std": float(s.loc[MULTIMODAL, "gini_std"]),
            "gini_min": float(s.loc[MULTIMODAL, "gini_min"]),
            "share_of_ceiling_min": float(s.loc[MULTIMODAL, "share_of_ceiling_min"]),
            "share_of_ceiling_mean": float(s.loc[MULTIMODAL, "gini_mean"] / s.loc[MULTIMODAL, "ceiling_gini_mean"]),
            "ceiling_gini_mean": float(s.loc[MULTIMODAL, "ceiling_gini_mean"]),
            "oracle_gini_mean": float(s.loc[MULTIMODAL, "oracle_gini_mean"]),
            "share_of_oracle_mean": float(s.loc[MULTIMODAL, "gini_mean"] / s.loc[MULTIMODAL, "oracle_gini_mean"]),
            "best_iteration": float(self.champion.best_iteration + 1),
            "trees": float(self.champion.iterations),
            "near_cap": float(self.champion.near_cap),
            "gain_over_logreg": float(s.loc[MULTIMODAL, "gini_mean"] - s.loc[LOGREG, "gini_mean"]),
            "gain_over_rules": float(s.loc[MULTIMODAL, "gini_mean"] - s.loc[RULES, "gini_mean"]),
            "conversion_uplift_mean": float(b["conversion_uplift"].mean()),
            "cost_saving_mean": float(b["cost_saving"].mean()),
        }


def run_retro(
    train_frame: pd.DataFrame,
    test_frame: pd.DataFrame,
    params: TrainParams | None = None,
    truth: pd.DataFrame | None = None,
    spec: FeatureSpec | None = None,
    ablation: bool = True,
    oracle: pd.DataFrame | None = None,
    plain: bool = False,
    tabular: bool = True,
) -> RetroResult:
    """Train every model on ``train_frame`` and evaluate each month of ``test_frame``.

    ``truth`` (point-in-time propensity) and ``oracle`` (the hazards actually drawn over the
    window) give the two ceilings; ``plain`` adds the plain-CatBoost yardstick.
    """
    spec = spec or rko_spec()
    params = params or TrainParams()
    preds = test_frame[[spec.id_column, spec.date_column, spec.target]].copy()
    preds[RULES] = rules_score(test_frame)
    log.info("retro: logistic regression")
    logreg = fit_logistic_regression(train_frame, spec)
    preds[LOGREG] = predict_logistic_regression(logreg, test_frame, spec)
    models = [m for m in MODELS if tabular or m != TABULAR]
    if tabular:
        log.info("retro: CatBoost tabular")
        preds[TABULAR] = train(train_frame, spec.without_text(), params).predict(test_frame)
    log.info("retro: CatBoost multimodal")
    multimodal = train(train_frame, spec, params)
    preds[MULTIMODAL] = multimodal.predict(test_frame)
    if plain:
        log.info("retro: plain CatBoost %s", PLAIN_KWARGS)
        preds[PLAIN] = plain_catboost(train_frame, spec, params.random_seed, params.thread_count).predict(test_frame)
        models.append(PLAIN)

    ablation_scores: dict[str, np.ndarray] = {}
    if ablation:
        for i, step in enumerate(ABLATION_STEPS, start=1):
            if i == len(ABLATION_STEPS):
                ablation_scores[step] = preds[MULTIMODAL].to_numpy()
                continue
            log.info("retro: ablation step %d/%d (+%s)", i, len(ABLATION_STEPS), step)
            step_spec = rko_spec(ABLATION_STEPS[:i]) if spec.name == "rko" else spec
            ablation_scores[step] = train(train_frame, step_spec, params).predict(test_frame)

    if truth is not None:
        preds = preds.merge(
            truth.rename(columns={"propensity": "truth"}), on=[spec.id_column, spec.date_column], how="left"
        )
    if oracle is not None:
        preds = preds.merge(oracle, on=[spec.id_column, spec.date_column], how="left")
        preds["oracle"] = preds["oracle"].fillna(0.0)  # no hazard: liquidated, could not open
    monthly = _monthly(preds, spec, models)
    return RetroResult(
        monthly=monthly,
        summary=_summary(monthly),
        ablation=_ablation(preds, spec, ablation_scores),
        business=_business(preds, spec),
        reliability=_reliability(preds, spec),
        predictions=preds,
        champion=multimodal,
        importance=feature_importance(multimodal),
    )


def plain_catboost(frame: pd.DataFrame, spec: FeatureSpec, seed: int = 42, threads: int = -1) -> TrainedModel:
    """The yardstick: a plain CatBoostClassifier on every row, fixed trees, CatBoost's defaults otherwise."""
    params = TrainParams(
        learning_rate=PLAIN_KWARGS["learning_rate"],
        depth=PLAIN_KWARGS["depth"],
        l2_leaf_reg=3.0,  # CatBoost's own default
        fixed_iterations=PLAIN_KWARGS["iterations"],
        random_seed=seed,
        thread_count=threads,
        text_processing="default",
    )
    return train(frame, spec, params)


def source_of(feature: str, spec: FeatureSpec) -> str:
    """The data source of a feature (``columns.SOURCES``), else its role in the spec."""
    for source, groups in col.SOURCES.items():
        if any(feature in names for names in groups.values()):
            return source
    for role in ("numeric", "categorical", "text"):
        if feature in getattr(spec, role):
            return role
    return "other"


def feature_importance(trained: TrainedModel) -> pd.DataFrame:
    """CatBoost's own importance (PredictionValuesChange) per feature, as shares summing to 1."""
    model = trained.model
    values = np.asarray(model.get_feature_importance(), dtype=float)
    total = values.sum() or 1.0
    frame = pd.DataFrame({"feature": list(model.feature_names_), "importance": values / total})
    frame["source"] = [source_of(f, trained.spec) for f in frame["feature"]]
    return frame.sort_values("importance", ascending=False, ignore_index=True)


def importance_by_source(importance: pd.DataFrame) -> pd.DataFrame:
    """Importance summed per data source, largest first."""
    return (
        importance.groupby("source", sort=False)["importance"]
        .agg(importance="sum", features="size")
        .sort_values("importance", ascending=False)
        .reset_index()
    )


def _by_month(preds: pd.DataFrame, spec: FeatureSpec):  # type: ignore[no-untyped-def]
    return preds.groupby(spec.date_column, sort=True)


def _monthly(preds: pd.DataFrame, spec: FeatureSpec, models: Sequence[str]) -> pd.DataFrame:
    rows = []
    for month, group in _by_month(preds, spec):
        y = group[spec.target].to_numpy()
        ceiling = metrics.gini(y, group["truth"].to_numpy()) if "truth" in group else float("nan")
        oracle = metrics.gini(y, group["oracle"].to_numpy()) if "oracle" in group else float("nan")
        for model in models:
            probability = group[model].to_numpy() if model != RULES else None
            row = metrics.month_metrics(y, group[model].to_numpy(), probability)
            rows.append(
                {
                    "model": model,
                    "month": pd.Timestamp(month).date().isoformat(),
                    **row,
                    "ceiling_gini": ceiling,
                    "oracle_gini": oracle,
                }
            )
    frame = pd.DataFrame(rows)
    frame["share_of_ceiling"] = frame["gini"] / frame["ceiling_gini"]
    frame["share_of_oracle"] = frame["gini"] / frame["oracle_gini"]
    return frame


def _summary(monthly: pd.DataFrame) -> pd.DataFrame:
    grouped = monthly.groupby("model", sort=False)
    out = pd.DataFrame(
        {
            "gini_mean": grouped["gini"].mean(),
            "gini_std": grouped["gini"].std(ddof=0),
            "gini_min": grouped["gini"].min(),
            "lift_top10_mean": grouped["lift_top10"].mean(),
            "precision_top5_mean": grouped["precision_top5"].mean(),
            "precision_top10_mean": grouped["precision_top10"].mean(),
            "share_of_ceiling_min": grouped["share_of_ceiling"].min(),
            "ceiling_gini_mean": grouped["ceiling_gini"].mean(),
            "oracle_gini_mean": grouped["oracle_gini"].mean(),
        }
    )
    return out.reset_index()


def _ablation(preds: pd.DataFrame, spec: FeatureSpec, scores: dict[str, np.ndarray]) -> pd.DataFrame:
    rows, previous = [], None
    for i, (step, score) in enumerate(scores.items(), start=1):
        frame = preds[[spec.date_column, spec.target]].assign(score=score)
        ginis = [metrics.gini(g[spec.target].to_numpy(), g["score"].to_numpy()) for _, g in _by_month(frame, spec)]
        mean = float(np.mean(ginis))
        rows.append(
            {
                "step": i,
                "added": step,
                "sources": " + ".join(list(scores)[:i]),
                "gini_mean": mean,
                "gini_std": float(np.std(ginis)),
                "gini_min": float(np.min(ginis)),
                "gain": float("nan") if previous is None else mean - previous,
            }
        )
        previous = mean
    return pd.DataFrame(rows)


def _business(preds: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    rows = []
    for month, group in _by_month(preds, spec):
        effect = metrics.business_effect(
            group[spec.target].to_numpy(), group[MULTIMODAL].to_numpy(), group[RULES].to_numpy(), share=0.1
        )
        rows.append({"month": pd.Timestamp(month).date().isoformat(), **effect.to_dict()})
    return pd.DataFrame(rows)


def _reliability(preds: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    frames = []
    for month, group in _by_month(preds, spec):
        curve = metrics.reliability(group[spec.target].to_numpy(), group[MULTIMODAL].to_numpy())
        curve.insert(0, "bin", range(len(curve)))
        curve.insert(0, "month", pd.Timestamp(month).date().isoformat())
        frames.append(curve)
    return pd.concat(frames, ignore_index=True)
