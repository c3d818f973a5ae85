"""The training report's page: rendered by the autoescaping template, whatever the run's texts hold."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from rko_model.model.report import render_html

HOSTILE = "\"'><script>alert('x')</script>"
ESCAPED = "&#34;&#39;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"


def _run(models: list[str]) -> dict[str, Any]:
    """The smallest metrics.json the report draws: one train and one test month, every section present."""
    month = "2026-07-31"
    monthly = [
        {
            "model": m,
            "month": month,
            "gini": 0.3 + 0.1 * i,
            "ceiling_gini": 0.7,
            "oracle_gini": 0.75,
            "brier": 0.05,
            "mean_probability": 0.04,
            "observed_rate": 0.05,
        }
        for i, m in enumerate(models)
    ]
    return {
        "run_id": HOSTILE,
        "package_version": HOSTILE,
        "plan": {"train_months": ["2026-03-31", "2026-04-30"], "test_months": [month]},
        "spec": {"target": "target"},
        "train_rows": 2000,
        "test_rows": 1000,
        "headline": {
            "gini_mean": 0.4,
            "gini_std": 0.01,
            "share_of_ceiling_min": 0.6,
            "share_of_oracle_mean": 0.55,
            "gain_over_logreg": 0.03,
            "gain_over_rules": 0.1,
            "conversion_uplift_mean": 0.3,
            "cost_saving_mean": 0.2,
        },
        "monthly": monthly,
        "summary": [{"model": m, "gini_mean": r["gini"]} for m, r in zip(models, monthly, strict=True)],
        "ablation": [{"added": "profile", "gini_mean": 0.3}, {"added": HOSTILE, "gini_mean": 0.35}],
        "business": [{"month": month, "share": 0.1, "conversion_uplift": 0.3}],
        "reliability": [{"month": month, "predicted": p, "observed": p * 1.1} for p in (0.01, 0.05, 0.1)],
        "importance": [{"feature": HOSTILE, "importance": 1.0, "source": "text"}],
        "importance_by_source": [{"source": "text", "importance": 1.0, "features": 1}],
        "walk_forward": [{"month": month, "strategy": s, "gini": 0.4} for s in ("frozen", "monthly")],
        "walk_forward_summary": [{"strategy": HOSTILE, "gini_mean": 0.4}],
        "package": {"packaged": "refit", "training_months": ["2026-04-30"], "rows": 1500, "trees": 80},
        "training": {
            "validation": HOSTILE,
            "best_iteration": 59,
            "cap": 60,
            "near_cap": True,
            "refit_on_all_rows": True,
            "fit_rows": 2000,
            "trees": 80,
        },
        "params": {"depth": HOSTILE},
    }


def test_the_report_escapes_every_text_of_the_run() -> None:
    models = ["rules", "catboost_multimodal", HOSTILE]
    rng = np.random.default_rng(0)
    predictions = pd.DataFrame({"target": rng.integers(0, 2, 200)} | {m: rng.random(200) for m in models})
    page = render_html(_run(models), predictions)
    assert "<script" not in page and HOSTILE not in page
    assert f"<title>rko-scoring run {ESCAPED}</title>" in page
    assert f"<h1>RKO propensity: training run {ESCAPED}</h1>" in page and f"<code>{ESCAPED}</code>" in page
    assert f"<th>{ESCAPED}</th>" in page  # a model's name as a column of the Gini table
    assert f"<td>{ESCAPED}</td>" in page  # as a row of the summary, the ablation, the importance
    assert f"<b>{ESCAPED}</b> validation" in page and "best iteration 60 of a cap of 60" in page
    assert page.count("data:image/png;base64,") == 4 and "within 5% of the cap" in page
    assert "recipe refit on the latest 1 labelled months</b> (2026-04-30 … 2026-04-30, 1,500 rows, 80 trees)" in page
    # The run's facts are JSON in a <pre>: its quotes are escaped too, and it reads back as the JSON.
    facts = page.split("<pre>", 1)[1].split("</pre>", 1)[0]
    assert "<" not in facts and "&#34;run_id&#34;" in facts
