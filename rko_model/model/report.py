"""The training run's report: a self-contained HTML page (PNG plots embedded) and its JSON metrics.

Rendering is pure: it takes the run's metrics (as written to ``metrics.json``) and the
retro predictions, so ``rko report`` can redraw any earlier run.
"""

from __future__ import annotations

import base64
import html
import io
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from rko_model.model import metrics

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


def _table(frame: pd.DataFrame, floatfmt: str = "{:.3f}") -> str:
    def cell(value: Any) -> str:
        if isinstance(value, float | np.floating):
            return "" if np.isnan(value) else floatfmt.format(value)
        return html.escape(str(value))

    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>" for row in frame.itertuples(False))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:.6em 0 1.4em;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}
td:first-child,th:first-child{text-align:left}.plots img{max-width:49%;vertical-align:top}
.kpi{display:inline-block;margin:0 1.5em .8em 0}.kpi b{font-size:1.4em;display:block}
"""


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
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>rko-scoring run {html.escape(run['run_id'])}</title><style>{_STYLE}</style></head><body>",
        f"<h1>RKO propensity: training run {html.escape(run['run_id'])}</h1>",
        f"<p>Trained on {len(run['plan']['train_months'])} months "
        f"({run['plan']['train_months'][0]} … {run['plan']['train_months'][-1]}, {run['train_rows']:,} rows); "
        f"tested out of time on {len(run['plan']['test_months'])} later months "
        f"({run['plan']['test_months'][0]} … {run['plan']['test_months'][-1]}, {run['test_rows']:,} rows). "
        f"Package <code>{html.escape(run.get('package_version') or '-')}</code>.</p>",
        "<div>" + "".join(f"<span class='kpi'><b>{v}</b>{html.escape(k)}</span>" for k, v in kpis) + "</div>",
        "<div class='plots'>",
        f"<img alt='gains' src='data:image/png;base64,{gains_plot(predictions, target, models)}'>",
        f"<img alt='gini by month' src='data:image/png;base64,{gini_plot(monthly)}'>",
        "</div>",
        *_package_section(run),
        "<h2>Models on the retro months</h2>",
        _table(summary),
        "<h3>Gini by month</h3>",
        "<p>Two ceilings: the <b>point-in-time truth</b> 1−(1−h)³ from the report month's hazard h (what a "
        "model could know at the report date, but miscalibrated for months 2 and 3), and the <b>oracle</b> "
        "1−(1−h1)(1−h2)(1−h3) over the hazards the window's openings were really drawn from (an upper bound "
        "for any model, up to sampling noise).</p>",
        _table(gini_table.reset_index()),
        *_walk_forward_section(run),
        *_importance_section(run),
        "<h2>Ablation: one data source at a time</h2>",
        *(
            [
                f"<div class='plots'><img alt='ablation' src='data:image/png;base64,{ablation_plot(ablation)}'></div>",
                _table(ablation),
            ]
            if not ablation.empty
            else ["<p>Not run (<code>--no-ablation</code>).</p>"]
        ),
        "<h2>Business effect against the rules (top 10% contacted)</h2>",
        "<p>Conversion uplift = model conversion / rules conversion − 1 at equal contact volume; "
        "cost saving = 1 − contacts the model needs to reach the rules' conversions / contacts the rules used.</p>",
        _table(business),
        "<h2>Calibration</h2>",
        f"<div class='plots'><img alt='reliability' src='data:image/png;base64,{reliability_plot(reliability)}'></div>",
        _table(calib),
        "<h2>Run</h2>",
        f"<pre>{html.escape(_run_facts(run))}</pre>",
        "</body></html>",
    ]
    return "\n".join(parts)


def _package_section(run: dict[str, Any]) -> list[str]:
    package, training = run.get("package"), run.get("training")
    parts = ["<h2>The packaged model</h2>"]
    if package:
        months = package["training_months"]
        if package["packaged"] == "refit":
            what = (
                f"The package holds the <b>recipe refit on the latest {len(months)} labelled months</b> "
                f"({months[0]} … {months[-1]}, {package['rows']:,} rows, {package['trees']} trees), after the recipe "
                "was validated out of time on the retro months below. Its own figures are those of the recipe."
            )
        else:
            what = (
                f"The package holds <b>the retro-tested model itself</b> (for audit), trained on {months[0]} … "
                f"{months[-1]}: the figures below are its own."
            )
        parts.append(f"<p>{what}</p>")
    if training:
        parts.append(
            f"<p>Trees chosen on a <b>{html.escape(str(training['validation']))}</b> validation: best iteration "
            f"{training['best_iteration'] + 1} of a cap of {training['cap']}; final model refit on "
            f"{'all ' if training['refit_on_all_rows'] else ''}{training['fit_rows']:,} rows "
            f"with {training['trees']} trees.</p>"
        )
        if training.get("near_cap"):
            parts.append(
                "<p style='color:#b00'><b>Warning:</b> the best iteration is within 5% of the cap: early stopping "
                "did not fire; raise the cap (<code>--iterations</code>) or the learning rate.</p>"
            )
    return parts if len(parts) > 1 else []


def _walk_forward_section(run: dict[str, Any]) -> list[str]:
    walk = pd.DataFrame(run.get("walk_forward") or [])
    if walk.empty:
        return ["<h2>Walk-forward retraining</h2><p>Not run.</p>"]
    table = walk.pivot(index="month", columns="strategy", values="gini").reset_index()
    return [
        "<h2>Walk-forward retraining: frozen, monthly, quarterly</h2>",
        "<p>For each test month M, the retrained models use the 12 months whose label windows had closed "
        "at M. Reduced to stay affordable: retrained models reuse the frozen model's tree count (one fit "
        "each, no validation fit), frames are stacked once.</p>",
        _table(table),
        _table(pd.DataFrame(run.get("walk_forward_summary") or [])),
    ]


def _importance_section(run: dict[str, Any]) -> list[str]:
    importance = pd.DataFrame(run.get("importance") or [])
    if importance.empty:
        return []
    by_source = pd.DataFrame(run.get("importance_by_source") or [])
    return [
        "<h2>What drives the model</h2>",
        "<p>CatBoost's own importance (PredictionValuesChange) of the tested multimodal model, as shares.</p>",
        "<h3>By data source</h3>",
        _table(by_source),
        "<h3>Top 15 features</h3>",
        _table(importance.head(15)),
    ]


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
    import json

    return json.dumps({k: run.get(k) for k in keys}, indent=2, ensure_ascii=False)
