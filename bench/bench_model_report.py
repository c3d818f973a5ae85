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
    lines += _stopping(folder)
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


def _seeds(folder: Path) -> list[dict]:
    """The quality files with the plain yardstick's months joined (NaN where plain did not run)."""
    seeds = []
    for p in sorted(folder.glob("quality_*.json")):
        s = json.loads(p.read_text())
        m = pd.DataFrame(s["per_month"])
        plain = folder / f"plain_{s['clients']}_{s['seed']}.json"
        if plain.exists():
            m = m.merge(pd.DataFrame(json.loads(plain.read_text())["per_month"]), on="month", how="left")
        else:
            m["plain"] = float("nan")
        s["months"] = m
        seeds.append(s)
    return seeds


def render_txt(folder: Path, header: str = "") -> str:
    """bench/results/model.txt: per seed and test month recipe / plain / truth / oracle, the targets met or not."""
    out = [header] if header else []
    for s in _seeds(folder):
        m, t = s["months"], s["training"]
        share = s.get("sample", 1.0)
        sample = f", a stable {share:.0%} of a {s['bank_clients']:,}-client bank" if share < 1 else ""
        out.append(
            f"seed {s['seed']}: {s['clients']:,} clients{sample} x 36 months; {s['train_rows']:,} training rows; "
            f"recipe trees best {t['best_iteration'] + 1} / refit {t['trees']} / cap {t['cap']}"
            f"{' NEAR CAP' if t['near_cap'] else ''}; retro {s['retro_s']:.0f} s"
        )
        out.append("  month        recipe   plain  recipe-plain   truth  oracle  recipe/truth")
        for r in m.itertuples(index=False):
            out.append(
                f"  {r.month}  {r.recipe:.4f}  {r.plain:.4f}  {r.recipe - r.plain:+.4f}"
                f" {_verdict(r.recipe - r.plain, -0.003):>12}"
                f"  {r.truth:.4f}  {r.oracle:.4f}  {r.recipe / r.truth:.3f}"
            )
        mean, truth, oracle, std = m["recipe"].mean(), m["truth"].mean(), m["oracle"].mean(), m["recipe"].std(ddof=0)
        worst = (m["recipe"] - m["plain"]).min()
        out.append(
            f"  mean         {mean:.4f}  {m['plain'].mean():.4f}  {m['recipe'].mean() - m['plain'].mean():+.4f}"
            f"               {truth:.4f}  {oracle:.4f}  {mean / truth:.3f}"
        )
        out.append(f"  target recipe >= plain - 0.003 every month: worst {worst:+.4f} {_verdict(worst, -0.003)}")
        out.append(
            f"  target mean >= 0.95 x truth: {mean / truth:.3f} {'met' if mean >= 0.95 * truth else 'NOT MET'};"
            f" share of the oracle {mean / oracle:.3f}"
        )
        out.append(f"  target monthly std <= 0.02: {std:.4f} {'met' if std <= 0.02 else 'NOT MET'}")
        out.append("")
    out += _stopping(folder)
    for w in sorted(folder.glob("walk_*.json")):
        wk = json.loads(w.read_text())
        out.append(
            f"walk-forward, seed {wk['seed']}, {wk['clients']:,} clients ({wk.get('features', 'multimodal')}, "
            f"{wk['trees']} fixed trees at learning rate {wk['learning_rate']}; {wk['walk_forward_s']:.0f} s):"
        )
        table = pd.DataFrame(wk["walk_forward"]).pivot(index="month", columns="strategy", values="gini")
        out += ["  " + line for line in table.round(4).to_string().splitlines()]
        out += ["  " + line for line in pd.DataFrame(wk["walk_forward_summary"]).round(4).to_string().splitlines()]
        out.append("")
    return "\n".join(out).replace("MISSED", "NOT MET").replace(" ok\n", " met\n").replace(" ok ", " met ") + "\n"


def _stopping(folder: Path) -> list[str]:
    """bench/model_stopping.py's figures: the holdout's best iteration against the test months' best."""
    lines = []
    for path in sorted(folder.glob("stopping_*.json")):
        d = json.loads(path.read_text())
        lines += [
            f"Where early stopping lands (bench/model_stopping.py), seed {d['seed']}, {d['clients']:,} clients,"
            f" {d['trees']} trees fitted on the rows outside the time holdout, AUC followed on the holdout and on"
            " the 6 test months:",
            "",
        ]
        for name in ("as_is", "purged", "plain_lr_0.05_l2_3"):
            if name in d:
                r = d[name]
                lines.append(
                    f"- {name}: best iteration by the holdout {r['best_iteration_holdout']}, by the test months"
                    f" {r['best_iteration_test']}; test Gini at the holdout's best"
                    f" {r['test_gini_at_holdout_best']:.4f}, at the test's best {r['test_gini_at_test_best']:.4f};"
                    f" test Gini by trees {r['test_gini_by_trees']}"
                )
        lines.append("")
    return lines
