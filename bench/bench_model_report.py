"""Render docs/results/model_bench.md from bench_model.py's JSON files (pure formatting)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd


def render(folder: Path, note: str = "") -> str:
    files = sorted(folder.glob("quality_*.json"))
    seeds = [json.loads(p.read_text()) for p in files]
    for s in seeds:  # the plain-CatBoost yardstick ran in its own process: join its months
        plain = folder / f"plain_{s['clients']}_{s['seed']}.json"
        m = pd.DataFrame(s["per_month"])
        if plain.exists():
            m = m.merge(pd.DataFrame(json.loads(plain.read_text())["per_month"]), on="month", how="left")
            s["plain_s"] = json.loads(plain.read_text())["plain_s"]
        else:
            m["plain"] = float("nan")
        s["per_month"] = m.to_dict("records")
    walks = [json.loads(p.read_text()) for p in sorted(folder.glob("walk_*.json"))]
    lines = [
        "# Model bench (issue 11)",
        "",
        "Produced by `python bench/bench_model.py quality` then `... report` on this 2-core machine, shared with",
        "five other engineers' builds, tests and benches while it ran (times are loaded-machine times).",
        "Banks: the synthetic bank in PostgreSQL schemas (or SQLite files), 36 months each; retro plan:",
        "12 training months, 6 test months out of time. The recipe is the packaged recipe with the defaults of",
        "`rko_model/model/defaults.py` (time holdout, early stopping, refit on every row with the tree count",
        "scaled, all negatives). Plain = `CatBoostClassifier(iterations=1000, learning_rate=0.05, depth=6)`",
        "on the same rows with all negatives, trained in the same run. Truth = point-in-time propensity",
        "1-(1-h)^3; oracle = 1-(1-h1)(1-h2)(1-h3) over the hazards the window's openings were drawn from.",
        "",
        *([note, ""] if note else []),
    ]
    if not seeds:
        return "\n".join([*lines, "No seed finished in this run (see the note at the top)."]) + "\n"
    lines += ["## Targets per seed", ""]
    lines.append(
        "| clients | seed | recipe mean | plain mean | worst month recipe - plain | recipe / truth | recipe / oracle "
        "| monthly std | trees (best / final / cap) | retro s |"
    )
    lines.append("|---|---|---|---|---|---|---|---|---|---|")
    for s in seeds:
        m = pd.DataFrame(s["per_month"])
        diff = (m["recipe"] - m["plain"]).min()
        t = s["training"]
        lines.append(
            f"| {s['clients']:,} | {s['seed']} | {m['recipe'].mean():.4f} | {m['plain'].mean():.4f} | {diff:+.4f} "
            f"{_verdict(diff, -0.003)} | {m['recipe'].mean() / m['truth'].mean():.3f} "
            f"{'ok' if m['recipe'].mean() >= 0.95 * m['truth'].mean() else 'MISSED'} | "
            f"{m['recipe'].mean() / m['oracle'].mean():.3f} | {m['recipe'].std(ddof=0):.4f} "
            f"{'ok' if m['recipe'].std(ddof=0) <= 0.02 else 'MISSED'} | {t['best_iteration'] + 1} / {t['trees']} / "
            f"{t['cap']}{' NEAR CAP' if t['near_cap'] else ''} | {s['retro_s']:.0f} |"
        )
    lines += ["", "## Gini per test month", ""]
    for s in seeds:
        m = pd.DataFrame(s["per_month"])
        m["recipe - plain"] = m["recipe"] - m["plain"]
        lines += [f"Seed {s['seed']} ({s['train_rows']:,} training rows):", "", _md(m), ""]
    lines += ["## Oracle ceiling against the best blend of truth and model", ""]
    lines.append(
        "Blend = rank(truth) + w x rank(model), best of w in {0.1, 0.3, 0.5, 1.0} per month (tuned on the test month)."
    )
    lines.append("")
    for s in seeds:
        b = pd.DataFrame(s["blends"])
        b["blend - oracle"] = b["best_blend"] - b["oracle"]
        lines += [f"Seed {s['seed']}:", "", _md(b), ""]
    lines += ["## Walk-forward retraining (a cheaper recipe)", ""]
    lines.append(
        "Frozen = trained once on the 12 months labelled by the first test month; monthly = retrained at every"
    )
    lines.append(
        "test month on the 12 months labelled by then; quarterly = retrained every third test month. Reduced to"
    )
    lines.append("stay affordable: every model of this comparison (the frozen one included) is the multimodal recipe")
    lines.append("with a fixed 200 trees at learning rate 0.15 (no validation fit: one fit each), frames stacked once.")
    lines.append("")
    for w in walks:
        table = pd.DataFrame(w["walk_forward"]).pivot(index="month", columns="strategy", values="gini").reset_index()
        recipe = f"{w.get('features', 'multimodal')}, {w['trees']} trees at learning rate {w['learning_rate']}"
        lines += [
            f"{w['clients']:,} clients, seed {w['seed']} ({recipe}; {w['walk_forward_s']:.0f} s):",
            "",
            _md(table),
            "",
        ]
        lines += [_md(pd.DataFrame(w["walk_forward_summary"])), ""]
    if not walks:
        lines += ["Not measured in this run (see the note at the top); run `python bench/bench_model.py walk`.", ""]
    if walks:
        allw = pd.concat([pd.DataFrame(w["walk_forward_summary"]).assign(seed=w["seed"]) for w in walks])
        mean = allw.groupby("strategy", sort=False)[["gini_mean", "gini_std", "gain_over_frozen"]].mean()
        lines += ["Mean over seeds:", "", _md(mean.reset_index()), ""]
    lines += ["## What drives the model (seed by seed, CatBoost importance shares)", ""]
    for s in seeds:
        lines += [f"Seed {s['seed']}:", "", _md(pd.DataFrame(s["importance_by_source"])), ""]
        lines += [_md(pd.DataFrame(s["top_features"])), ""]
    for memory in sorted(folder.glob("memory_*.json")):
        frame = pd.DataFrame(json.loads(memory.read_text()))
        lines += [
            "## Memory of negative downsampling",
            "",
            "One multimodal fit (50 fixed trees: the memory is the pools', not the trees') on the 12 training",
            "months, in its own process, keeping a share of the non-openers:",
            "",
            _md(frame),
            "",
        ]
    timing = folder / "timing_100000.json"
    if timing.exists():
        lines += [
            "## Training time and peak RSS at 100,000 clients",
            "",
            _md(pd.DataFrame(json.loads(timing.read_text()))),
            "",
        ]
    return "\n".join(lines) + "\n"


def _md(frame: pd.DataFrame) -> str:
    def cell(v: object) -> str:
        if isinstance(v, float):
            return f"{v:.4f}"
        return str(v)

    head = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    rule = "|" + "---|" * len(frame.columns)
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *rows])


def _verdict(diff: float, floor: float) -> str:
    if pd.isna(diff):
        return "not finished"
    return "ok" if diff >= floor else "MISSED"
