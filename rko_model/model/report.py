"""The training run's report: a self-contained HTML page (PNG plots embedded) and its JSON metrics.

Rendering is pure: it takes the run's metrics (as written to ``metrics.json``) and the
retro predictions, so ``rko report`` can redraw any earlier run. The markup is the template
``templates/report.html.j2`` (autoescaped); this module draws the plots and shapes the figures.
"""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from rko_model.model import metrics
from rko_model.ui.templating import render

MODEL_LABELS = {
    "rules": "Business rules",
    "logreg": "Logistic regression",
    "catboost_tabular": "CatBoost tabular",
    "catboost_multimodal": "CatBoost multimodal",
    "catboost_plain": "Plain CatBoost (1000 trees)",
}


def _png(fig: plt.Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def gains_plot(predictions: pd.DataFrame, target: str, models: list[str]) -> str:
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    y = predictions[target].to_numpy()
    for model in models:
        curve = metrics.gains(y, predictions[model].to_numpy())
        ax.plot(curve["contacted"] * 100, curve["captured"] * 100, label=MODEL_LABELS.get(model, model))
    if "truth" in predictions and predictions["truth"].notna().all():
        curve = metrics.gains(y, predictions["truth"].to_numpy())
        ax.plot(curve["contacted"] * 100, curve["captured"] * 100, "k:", label="True propensity (ceiling)")
    ax.plot([0, 100], [0, 100], color="grey", lw=0.8, label="Random")
    ax.axvline(10, color="grey", ls="--", lw=0.8)
    ax.set_xlabel("clients contacted, % (best score first)")
    ax.set_ylabel("RKO openings captured, %")
    ax.set_title("Gains on the retro months (pooled)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _png(fig)


def gini_plot(monthly: pd.DataFrame) -> str:
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for model, group in monthly.groupby("model", sort=False):
        ax.plot(group["month"], group["gini"], marker="o", label=MODEL_LABELS.get(model, model))
    ceiling = monthly.groupby("month", sort=True)["ceiling_gini"].first()
    if ceiling.notna().all():
        ax.plot(ceiling.index, ceiling.to_numpy(), "k:", marker="x", label="Ceiling (true propensity)")
    ax.set_ylabel("Gini")
    ax.set_title("Gini by retro month")
    ax.tick_params(axis="x", rotation=45)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _png(fig)


def ablation_plot(ablation: pd.DataFrame) -> str:
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    labels = ["+ " + a if i else a for i, a in enumerate(ablation["added"])]
    ax.bar(labels, ablation["gini_mean"], color="#4c72b0")
    for i, value in enumerate(ablation["gini_mean"]):
        ax.text(i, value + 0.005, f"{value:.3f}", ha="center", fontsize=8)
    ax.set_ylabel("mean retro Gini")
    ax.set_title("Ablation: one data source at a time")
    ax.set_ylim(0, max(ablation["gini_mean"]) * 1.15)
    return _png(fig)


def reliability_plot(reliability: pd.DataFrame) -> str:
    fig, ax = plt.subplots(figsize=(5.2, 5.0))
    for month, group in reliability.groupby("month"):
        ax.plot(group["predicted"], group["observed"], marker=".", alpha=0.7, label=month)
    top = float(max(reliability["predicted"].max(), reliability["observed"].max())) * 1.05
    ax.plot([0, top], [0, top], color="grey", lw=0.8)
    ax.set_xlabel("mean predicted probability (decile)")
    ax.set_ylabel("observed RKO opening rate")
    ax.set_title("Reliability of CatBoost multimodal")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return _png(fig)


def _table(frame: pd.DataFrame, floatfmt: str = "{:.3f}") -> dict[str, list]:
    """A frame as the template's ``table``: column names and cells as text (a missing float: empty)."""

    def cell(value: Any) -> str:
        if isinstance(value, float | np.floating):
            return "" if np.isnan(value) else floatfmt.format(value)
        return str(value)

    return {
        "columns": [str(c) for c in frame.columns],
        "rows": [[cell(v) for v in row] for row in frame.itertuples(False)],
    }


def render_html(run: dict[str, Any], predictions: pd.DataFrame) -> str:
    """The report page of a training run."""
    monthly = pd.DataFrame(run["monthly"])
    summary = pd.DataFrame(run["summary"])
    ablation = pd.DataFrame(run["ablation"])
    business = pd.DataFrame(run["business"])
    reliability = pd.DataFrame(run["reliability"])
    headline = run["headline"]
    models = list(dict.fromkeys(monthly["model"]))
    gini_table = monthly.pivot(index="month", columns="model", values="gini")[models]
    gini_table["ceiling (point-in-time truth)"] = monthly.groupby("month")["ceiling_gini"].first()
    if "oracle_gini" in monthly:
        gini_table["oracle (hazards drawn)"] = monthly.groupby("month")["oracle_gini"].first()
    calib = monthly[monthly["model"] == "catboost_multimodal"][["month", "brier", "mean_probability", "observed_rate"]]
    kpis = [
        ("mean retro Gini", f"{headline['gini_mean']:.3f}"),
        ("monthly Gini std", f"{headline['gini_std']:.3f}"),
        ("worst month / ceiling", f"{headline['share_of_ceiling_min']:.2f}"),
        *(
            [("mean / oracle ceiling", f"{headline['share_of_oracle_mean']:.2f}")]
            if np.isfinite(headline.get("share_of_oracle_mean", np.nan))
            else []
        ),
        ("over logistic regression", f"{headline['gain_over_logreg']:+.3f}"),
        ("over the rules", f"{headline['gain_over_rules']:+.3f}"),
        ("conversion uplift @10%", f"{headline['conversion_uplift_mean']:+.1%}"),
        ("cost saving @ rules' conversions", f"{headline['cost_saving_mean']:.1%}"),
    ]
    target = run["spec"]["target"]
    plan = run["plan"]
    plots = {
        "gains": gains_plot(predictions, target, models),
        "gini": gini_plot(monthly),
        "ablation": ablation_plot(ablation) if not ablation.empty else None,
        "reliability": reliability_plot(reliability),
    }
    return render(
        "report.html.j2",
        run_id=run["run_id"],
        train=_months(plan["train_months"], run["train_rows"]),
        test=_months(plan["test_months"], run["test_rows"]),
        package_version=run.get("package_version") or "-",
        kpis=kpis,
        plots=plots,
        package=_package(run.get("package")),
        training=_training(run.get("training")),
        summary=_table(summary),
        gini=_table(gini_table.reset_index()),
        walk_forward=_walk_forward(run),
        importance=_importance(run),
        ablation=None if ablation.empty else _table(ablation),
        business=_table(business),
        calib=_table(calib),
        run_facts=_run_facts(run),
    )


def _months(months: list[str], rows: int) -> dict[str, Any]:
    return {"count": len(months), "first": months[0], "last": months[-1], "rows": f"{rows:,}"}


def _package(package: dict[str, Any] | None) -> dict[str, Any] | None:
    if not package:
        return None
    return {
        "packaged": package["packaged"],
        "months": package["training_months"],
        "rows": f"{package['rows']:,}" if "rows" in package else None,
        "trees": package.get("trees"),
    }


def _training(training: dict[str, Any] | None) -> dict[str, Any] | None:
    if not training:
        return None
    return {
        "validation": str(training["validation"]),
        "best_iteration": training["best_iteration"] + 1,
        "cap": training["cap"],
        "all": "all " if training["refit_on_all_rows"] else "",
        "fit_rows": f"{training['fit_rows']:,}",
        "trees": training["trees"],
        "near_cap": bool(training.get("near_cap")),
    }


def _walk_forward(run: dict[str, Any]) -> dict[str, Any] | None:
    walk = pd.DataFrame(run.get("walk_forward") or [])
    if walk.empty:
        return None
    return {
        "by_month": _table(walk.pivot(index="month", columns="strategy", values="gini").reset_index()),
        "summary": _table(pd.DataFrame(run.get("walk_forward_summary") or [])),
    }


def _importance(run: dict[str, Any]) -> dict[str, Any] | None:
    importance = pd.DataFrame(run.get("importance") or [])
    if importance.empty:
        return None
    by_source = pd.DataFrame(run.get("importance_by_source") or [])
    return {"by_source": _table(by_source), "top": _table(importance.head(15))}


def _run_facts(run: dict[str, Any]) -> str:
    keys = (
        "run_id",
        "created_at",
        "package_version",
        "package",
        "params",
        "training",
        "libraries",
        "data_fingerprint",
        "seconds",
    )
    return json.dumps({k: run.get(k) for k in keys}, indent=2, ensure_ascii=False)
