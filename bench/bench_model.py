"""Model bench: the packaged recipe against plain CatBoost and both ceilings on 3 seeds, and training
time / peak RSS at 100k clients with and without the ablation.

Usage:
  python bench/bench_model.py quality [--clients 60000] [--seeds 7 11 23] [--parallel]  # retro per seed
  python bench/bench_model.py plain   [--clients 60000] [--seeds 7 11 23] [--parallel]  # the yardstick per seed
  python bench/bench_model.py walk    [--clients 60000] [--seeds 7 11 23] [--parallel]  # walk-forward per seed
  python bench/bench_model.py timing  [--clients 100000]                    # run_retro with / without ablation
  python bench/bench_model.py memory  [--clients 20000]                     # peak RSS by negative share
  python bench/bench_model.py scoring [--clients 100000] [--score-rows 1000000] [--url URL]  # package vs bare
  python bench/bench_model.py report                    # docs/results/model_bench.md, bench/results/model.txt

Banks are SQLite warehouses under data/bench_model/ (bench/_model_data.py), generated once.
Targets (issue 11), per seed: every test month, the recipe's Gini >= plain
CatBoostClassifier(iterations=1000, learning_rate=0.05, depth=6) - 0.003 on the same rows with all
negatives; multimodal mean Gini >= 0.95 x the point-in-time truth's; monthly Gini std <= 0.02.
Each seed's figures go to data/bench_model/quality_<clients>_<seed>.json as soon as it ends.

Stacking from the feature marts (issue 16): ``stack --stack-clients 100000 1000000`` stacks the 12
latest labelled months of the 24-month banks of bench_generator.py (schema rko_bench_<clients>,
marts built first) from the marts and from the raw tables, in the same run. Targets: under 10 s
at 100k and under 120 s at 1M.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _common import DEFAULT_PG, child
from _model_data import FOLDER

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "docs" / "results" / "model_bench.md"
TXT = ROOT / "bench" / "results" / "model.txt"
#: The walk-forward comparison's cheaper recipe (every strategy, the frozen model included):
#: 200 trees at learning rate 0.15, no validation fit, so that 7 fits per seed stay affordable.
WALK_TREES, WALK_LR = 200, 0.15


def quality(clients: int, seed: int, sample: float = 1.0) -> dict:
    """One seed: retro (recipe, plain, logreg, rules, tabular) with both ceilings, walk-forward, blends."""
    import logging
    import time

    import numpy as np
    import pandas as pd
    from _model_data import frames, months_of, sampled

    from rko_model.model import metrics
    from rko_model.model.report import render_html
    from rko_model.model.retro import MULTIMODAL, importance_by_source, run_retro
    from rko_model.model.train import TrainParams

    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(name)s %(message)s",
        filename=FOLDER / f"quality_{int(clients * sample)}_{seed}.log",
    )
    started = time.perf_counter()
    data = sampled(frames(clients, seed), sample)
    plan = data["plan"]
    train_frame = months_of(data["all"], plan["train_months"])
    test_frame = months_of(data["all"], plan["test_months"])
    t = time.perf_counter()
    result = run_retro(
        train_frame,
        test_frame,
        TrainParams(),
        data["truth"],
        ablation=False,
        oracle=data["oracle"],
        plain=False,
        tabular=False,
    )
    retro_s = time.perf_counter() - t

    preds = result.predictions
    blends = []
    for month, g in preds.groupby("report_date"):
        y = g["target"].to_numpy()
        truth_rank = g["truth"].rank(pct=True).to_numpy()
        model_rank = g[MULTIMODAL].rank(pct=True).to_numpy()
        oracle = metrics.gini(y, g["oracle"].to_numpy())
        best = max(metrics.gini(y, truth_rank + w * model_rank) for w in (0.1, 0.3, 0.5, 1.0))
        blends.append({"month": str(pd.Timestamp(month).date()), "oracle": oracle, "best_blend": best})
    monthly = result.monthly
    pivot = monthly.pivot(index="month", columns="model", values="gini")
    per_month = pd.DataFrame(
        {
            "recipe": pivot[MULTIMODAL],
            "truth": monthly.groupby("month")["ceiling_gini"].first(),
            "oracle": monthly.groupby("month")["oracle_gini"].first(),
        }
    )
    champion = result.champion
    run = {
        "run_id": f"bench-{clients}-{seed}",
        "created_at": pd.Timestamp.now(tz="UTC").isoformat(),
        "package_version": None,
        "plan": {"train_months": plan["train_months"], "test_months": plan["test_months"]},
        "spec": champion.spec.to_dict(),
        "params": champion.params.to_dict(),
        "training": champion.summary(),
        "train_rows": len(train_frame),
        "test_rows": len(test_frame),
        "headline": result.headline(),
        "monthly": monthly.to_dict("records"),
        "summary": result.summary.to_dict("records"),
        "ablation": [],
        "business": result.business.to_dict("records"),
        "reliability": result.reliability.to_dict("records"),
        "importance": result.importance.to_dict("records"),
        "importance_by_source": importance_by_source(result.importance).to_dict("records"),
        "walk_forward": [],
        "walk_forward_summary": [],
    }
    if seed == 7:
        (ROOT / "docs" / "results" / f"model_report_{int(clients * sample) // 1000}k_seed{seed}.html").write_text(
            render_html(run, preds), encoding="utf-8"
        )
    out = {
        "clients": int(clients * sample),
        "bank_clients": clients,
        "sample": sample,
        "seed": seed,
        "train_rows": len(train_frame),
        "per_month": per_month.reset_index().to_dict("records"),
        "summary": result.summary.to_dict("records"),
        "headline": result.headline(),
        "training": champion.summary(),
        "importance_by_source": importance_by_source(result.importance).to_dict("records"),
        "top_features": result.importance.head(10).to_dict("records"),
        "blends": blends,
        "retro_s": round(retro_s, 1),
        "total_s": round(time.perf_counter() - started, 1),
        "gini_std_recipe": float(np.std(per_month["recipe"])),
    }
    path = FOLDER / f"quality_{int(clients * sample)}_{seed}.json"
    path.write_text(json.dumps(out, indent=1, default=str))
    # The test months' scores, for paired bootstraps against the plain yardstick (bench/model_noise.py).
    keep = [c for c in ("client_id", "report_date", "target", MULTIMODAL, "truth", "oracle") if c in preds.columns]
    preds[keep].to_parquet(FOLDER / f"preds_quality_{int(clients * sample)}_{seed}.parquet")
    return {"file": str(path)}


def plain(clients: int, seed: int, sample: float = 1.0, random_seed: int = 42) -> dict:
    """The yardstick of one seed in its own process: plain CatBoost (1000 trees, 0.05, depth 6), every row.

    ``random_seed`` other than CatBoost's 42 gives the yardstick against itself: how far two fits
    that differ only in their random seed land apart in a test month, the floor of any
    "within 0.003 of plain every month" comparison.
    """
    import logging
    import time

    import pandas as pd
    from _model_data import frames, months_of, sampled

    from rko_model.model import metrics
    from rko_model.model.retro import plain_catboost
    from rko_model.model.spec import rko_spec

    name = f"plain_{int(clients * sample)}_{seed}" + ("" if random_seed == 42 else f"_rs{random_seed}")
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(name)s %(message)s",
        filename=FOLDER / f"{name}.log",
    )
    data = sampled(frames(clients, seed), sample)
    train_frame = months_of(data["all"], data["plan"]["train_months"])
    test_frame = months_of(data["all"], data["plan"]["test_months"])
    t = time.perf_counter()
    model = plain_catboost(train_frame, rko_spec(), seed=random_seed)
    test_frame["score"] = model.predict(test_frame)
    per_month = [
        {"month": str(pd.Timestamp(m).date()), "plain": metrics.gini(g["target"].to_numpy(), g["score"].to_numpy())}
        for m, g in test_frame.groupby("report_date")
    ]
    out = {
        "clients": int(clients * sample),
        "seed": seed,
        "per_month": per_month,
        "random_seed": random_seed,
        "plain_s": round(time.perf_counter() - t, 1),
    }
    path = FOLDER / f"{name}.json"
    path.write_text(json.dumps(out, indent=1))
    test_frame[["client_id", "report_date", "target", "score"]].to_parquet(FOLDER / f"preds_{name}.parquet")
    return {"file": str(path)}


def walk(
    clients: int, seed: int, sample: float = 1.0, trees: int = 200, lr: float = 0.15, tabular: bool = False
) -> dict:
    """Walk-forward of one seed with the cheaper recipe (every strategy, the frozen model included)."""
    import logging
    import time

    import pandas as pd
    from _model_data import frames, sampled

    from rko_model.model.spec import rko_spec
    from rko_model.model.train import TrainParams
    from rko_model.model.walkforward import run_walk_forward, summarise

    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(name)s %(message)s",
        filename=FOLDER / f"walk_{int(clients * sample)}_{seed}.log",
    )
    data = sampled(frames(clients, seed), sample)
    test_months = [pd.Timestamp(m).date() for m in data["plan"]["test_months"]]
    params = TrainParams(fixed_iterations=trees, learning_rate=lr)
    spec = rko_spec().without_text() if tabular else rko_spec()
    t = time.perf_counter()
    table = run_walk_forward(data["all"], None, test_months, params=params, spec=spec)
    out = {
        "clients": int(clients * sample),
        "bank_clients": clients,
        "sample": sample,
        "seed": seed,
        "trees": trees,
        "learning_rate": lr,
        "features": "tabular (no text)" if tabular else "multimodal",
        "walk_forward": table.to_dict("records"),
        "walk_forward_summary": summarise(table).to_dict("records"),
        "walk_forward_s": round(time.perf_counter() - t, 1),
    }
    path = FOLDER / f"walk_{int(clients * sample)}_{seed}.json"
    path.write_text(json.dumps(out, indent=1, default=str))
    return {"file": str(path)}


def timing(clients: int, ablation: bool) -> dict:
    """run_retro (rules, logreg, tabular, multimodal, optionally the ablation) on the 12 stacked months."""
    import logging
    import time

    from _model_data import frames, months_of

    from rko_model.model.retro import run_retro
    from rko_model.model.train import TrainParams

    logging.basicConfig(  # each fit's seconds, visible while the run goes on
        level=logging.INFO,
        format="%(asctime)s %(name)s %(message)s",
        filename=FOLDER / f"timing_{clients}_{'ablation' if ablation else 'plain'}.log",
    )
    data = frames(clients, 42)
    plan = data["plan"]
    train_frame = months_of(data["all"], plan["train_months"])
    test_frame = months_of(data["all"], plan["test_months"])
    del data
    t = time.perf_counter()
    result = run_retro(train_frame, test_frame, TrainParams(), ablation=ablation)
    return {
        "rows": len(train_frame),
        "retro_s": round(time.perf_counter() - t, 1),
        "trees": result.champion.iterations,
        "best_iteration": result.champion.best_iteration + 1,
        "multimodal_fit_s": result.champion.seconds,
    }


def timing_negatives(clients: int, share: float) -> dict:
    """One multimodal fit with ``share`` of the negatives, for the memory the downsampling saves."""
    import time

    from _model_data import frames, months_of

    from rko_model.model.spec import rko_spec
    from rko_model.model.train import TrainParams, train

    data = frames(clients, 42)
    train_frame = months_of(data["all"], data["plan"]["train_months"])
    del data
    t = time.perf_counter()
    model = train(train_frame, rko_spec(), TrainParams(negative_share=share))
    return {"rows": len(train_frame), "fit_s": round(time.perf_counter() - t, 1), "trees": model.iterations}


def memory(clients: int, seed: int, share: float, trees: int) -> dict:
    """Peak RSS of one multimodal fit on the 12 training months keeping ``share`` of the negatives.

    Few fixed trees on purpose: the memory is the pools' (rows x features, the text dictionaries),
    not the trees', so the saving of the downsampling shows at a fraction of a full fit's cost.
    """
    import time

    from _model_data import frames, months_of

    from rko_model.model.spec import rko_spec
    from rko_model.model.train import TrainParams, train

    data = frames(clients, seed)
    train_frame = months_of(data["all"], data["plan"]["train_months"])
    del data
    t = time.perf_counter()
    train(train_frame, rko_spec(), TrainParams(negative_share=share, fixed_iterations=trees))
    kept = int((train_frame["target"] == 1).sum() + share * (train_frame["target"] == 0).sum())
    return {"rows": len(train_frame), "rows_fitted": kept, "fit_s": round(time.perf_counter() - t, 1)}


# --- scoring throughput (issue 3): the package against bare CatBoost on 1M rows, from a PostgreSQL bank ---


def build(url: str, folder: str) -> dict:
    """Stack the 12 training months and the 6 test months; cache them as parquet for the other steps."""
    from rko_model.model.dataset import build_dataset, plan_from_warehouse
    from rko_model.settings import Settings
    from rko_model.warehouse.engine import make_engine

    settings = Settings.from_env({"RKO_WAREHOUSE_URL": url})
    engine = make_engine(url)
    plan = plan_from_warehouse(engine, settings)
    train = build_dataset(engine, plan.train_months, settings)
    test = build_dataset(engine, plan.test_months, settings)
    train.to_parquet(Path(folder) / "train.parquet")
    test.to_parquet(Path(folder) / "test.parquet")
    return {"train_rows": len(train), "test_rows": len(test), "months": len(plan.train_months)}


def stack(url: str, source: str, months: int = 12) -> dict:
    """Stack the ``months`` latest labelled months (snapshots with labels) from ``source`` (marts or raw)."""
    import time

    from rko_model import columns as col
    from rko_model.common.dates import add_months
    from rko_model.model.dataset import build_dataset
    from rko_model.settings import Settings
    from rko_model.stages.snapshot import data_end
    from rko_model.warehouse.engine import make_engine

    settings = Settings.from_env({"RKO_WAREHOUSE_URL": url, "RKO_FEATURE_SOURCE": source})
    engine = make_engine(url)
    last = add_months(data_end(engine, settings), -col.LABEL_HORIZON_MONTHS)
    chosen = [add_months(last, -k) for k in range(months - 1, -1, -1)]
    started = time.perf_counter()
    frame = build_dataset(engine, chosen, settings)
    return {"rows": len(frame), "months": months, "stack_s": round(time.perf_counter() - started, 1)}


def fit(folder: str) -> dict:
    import time

    import pandas as pd

    from rko_model.model.package import data_fingerprint, provenance, reference_distributions, save_package
    from rko_model.model.spec import rko_spec
    from rko_model.model.train import TrainParams, train

    frame = pd.read_parquet(Path(folder) / "train.parquet")
    started = time.perf_counter()
    model = train(frame, rko_spec(), TrainParams())
    seconds = time.perf_counter() - started
    package = Path(folder) / "package"
    save_package(
        model,
        package,
        version="bench",
        training_months=["2000-01-31"],
        retro={"gini_mean": 0, "gini_std": 0},
        fingerprint=data_fingerprint(frame, model.spec),
        reference=reference_distributions(frame, model.predict(frame), model),
        provenance=provenance("retro", ["2000-01-31"], ["2000-06-30"], ["2000-01-31"]),
    )
    return {"rows": len(frame), "fit_s": round(seconds, 1), "iterations": model.iterations}


def score(folder: str, rows: int) -> dict:
    import time

    import numpy as np
    import pandas as pd
    from catboost import Pool

    from rko_model.model.package import load_package
    from rko_model.model.prepare import model_matrix

    package = load_package(Path(folder) / "package")
    test = pd.read_parquet(Path(folder) / "test.parquet")
    frame = test.iloc[np.arange(rows) % len(test)].reset_index(drop=True)
    spec = package.spec
    ready = model_matrix(frame, spec)  # bare CatBoost gets its input already in CatBoost's shape
    pool_args = {"cat_features": list(spec.categorical), "text_features": list(spec.text)}
    timings: dict[str, list[float]] = {"package": [], "bare": []}
    for _ in range(2):  # alternate, keep the best of two for each
        t = time.perf_counter()
        p_package = package.score(frame)
        timings["package"].append(time.perf_counter() - t)
        t = time.perf_counter()
        p_bare = package.model.predict_proba(Pool(ready, **pool_args))[:, 1]
        timings["bare"].append(time.perf_counter() - t)
    assert np.allclose(p_package, p_bare)
    package_rate, bare_rate = rows / min(timings["package"]), rows / min(timings["bare"])
    return {
        "rows": rows,
        "package_rows_s": round(package_rate),
        "bare_rows_s": round(bare_rate),
        "ratio": round(package_rate / bare_rate, 3),
    }


def scoring(clients: int, score_rows: int, url: str) -> None:
    """Stack 12 months of a PostgreSQL bank, fit the recipe, score ``score_rows`` rows: package vs bare."""
    import tempfile

    from _common import schema_url
    from bench_generator import run_generate
    from bench_snapshot import has_bank

    url = schema_url(url, f"rko_bench_model_{clients}")
    if not has_bank(url):
        print(f"(generating a {clients:,d}-client, 36-month bank first)", flush=True)
        child(run_generate, url, clients, 36)
    with tempfile.TemporaryDirectory() as folder:
        out = child(build, url, folder)
        print(
            f"dataset: {out['months']} months stacked, {out['train_rows']:,d} training rows, "
            f"{out['test_rows']:,d} test rows; {out['wall_s']:.1f} s, peak RSS {out['peak_rss_mb']:,.0f} MB",
            flush=True,
        )
        out = child(fit, folder)
        print(
            f"training (CatBoost multimodal recipe, all negatives): {out['rows']:,d} rows, {out['iterations']} "
            f"trees, fit {out['fit_s']:.1f} s, wall {out['wall_s']:.1f} s, peak RSS {out['peak_rss_mb']:,.0f} MB",
            flush=True,
        )
        out = child(score, folder, score_rows)
        print(
            f"scoring {out['rows']:,d} rows: package {out['package_rows_s']:,d} rows/s, bare CatBoost "
            f"{out['bare_rows_s']:,d} rows/s, ratio {out['ratio']:.2f}; peak RSS {out['peak_rss_mb']:,.0f} MB"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "what", choices=("quality", "plain", "walk", "yardstick", "timing", "memory", "scoring", "stack", "report")
    )
    parser.add_argument(
        "--random-seed", type=int, default=42, help="plain: CatBoost's random seed (42 is the yardstick's own)"
    )
    parser.add_argument("--stack-clients", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--score-rows", type=int, default=1_000_000)
    parser.add_argument("--url", default=DEFAULT_PG, help="PostgreSQL for the scoring bench")
    parser.add_argument("--clients", type=int)
    parser.add_argument("--seeds", type=int, nargs="+", default=[7, 11, 23])
    parser.add_argument("--sample", type=float, default=1.0, help="share of each bank's clients (a loaded machine)")
    parser.add_argument("--walk-trees", type=int, default=WALK_TREES)
    parser.add_argument("--walk-lr", type=float, default=WALK_LR)
    parser.add_argument("--walk-tabular", action="store_true", help="walk-forward without the text (cheaper)")
    parser.add_argument("--parallel", action="store_true", help="one child process per seed, side by side")
    parser.add_argument("--ablation-only", action="store_true", help="timing: only the run with the ablation")
    parser.add_argument(
        "--no-negatives", action="store_true", help="timing: skip the two downsampling fits (the ablation rows only)"
    )
    args = parser.parse_args()
    if args.what in ("quality", "plain", "walk"):
        clients = args.clients or 60_000
        func = {"quality": quality, "plain": plain, "walk": walk}[args.what]
        extra = [args.walk_trees, args.walk_lr, args.walk_tabular] if args.what == "walk" else []
        suffix = ""
        if args.what == "plain":
            extra = [args.random_seed]
            suffix = "" if args.random_seed == 42 else f"_rs{args.random_seed}"
        if args.parallel:
            from concurrent.futures import ThreadPoolExecutor

            size = int(clients * args.sample)
            todo = [s for s in args.seeds if not (FOLDER / f"{args.what}_{size}_{s}{suffix}.json").exists()]
            with ThreadPoolExecutor(len(todo) or 1) as pool:
                for seed, out in zip(
                    todo, pool.map(lambda s: child(func, clients, s, args.sample, *extra), todo), strict=True
                ):
                    print(f"seed {seed}: {out['wall_s']:.0f} s, peak RSS {out['peak_rss_mb']:,.0f} MB", flush=True)
            return
        for seed in args.seeds:
            if (FOLDER / f"{args.what}_{int(clients * args.sample)}_{seed}{suffix}.json").exists():
                print(f"seed {seed}: done before", flush=True)
                continue
            out = child(func, clients, seed, args.sample, *extra)
            print(
                f"seed {seed}: {out['wall_s']:.0f} s, peak RSS {out['peak_rss_mb']:,.0f} MB -> {out['file']}",
                flush=True,
            )
    elif args.what == "yardstick":
        yardstick(args.clients or 60_000, args.seeds, args.random_seed)
    elif args.what == "timing":
        clients = args.clients or 100_000
        rows = []
        for ablation in (True,) if args.ablation_only else (False, True):
            out = child(timing, clients, ablation)
            rows.append({"ablation": ablation, **out})
            print(json.dumps(rows[-1]), flush=True)
        for share in () if args.no_negatives else (1.0, 0.5):
            out = child(timing_negatives, clients, share)
            rows.append({"negative_share": share, **out})
            print(json.dumps(rows[-1]), flush=True)
        name = f"timing_{clients}{'_ablation' if args.ablation_only else ''}.json"
        (FOLDER / name).write_text(json.dumps(rows, indent=1))
    elif args.what == "stack":
        stack_marts(args.url, args.stack_clients)
    elif args.what == "scoring":
        scoring(args.clients or 100_000, args.score_rows, args.url)
    elif args.what == "memory":
        clients = args.clients or 20_000
        rows = []
        for share in (1.0, 0.5, 0.25):
            out = child(memory, clients, args.seeds[0], share, 50)
            rows.append({"clients": clients, "negative_share": share, **out})
            print(json.dumps(rows[-1]), flush=True)
        (FOLDER / f"memory_{clients}.json").write_text(json.dumps(rows, indent=1))
    else:
        write_report()


def yardstick(clients: int, seeds: list[int], random_seed: int) -> None:
    """Plain CatBoost against itself with another random seed, per test month (``plain`` runs of both seeds first).

    The target "recipe >= plain - 0.003 every month" cannot be met more reliably than the yardstick
    meets it against itself: this prints how often two fits differing only in their seed do.
    """
    lines = [
        f"Yardstick against itself (issue 11): plain CatBoostClassifier(1000, 0.05, depth 6) with random seed 42 and"
        f" {random_seed}, same rows, {clients:,d} clients; bench/bench_model.py plain [--random-seed {random_seed}]"
        " then yardstick.",
        "  seed  month        plain42  plain" + f"{random_seed:<3d}" + "  difference  within 0.003",
    ]
    within = total = 0
    for seed in seeds:
        own = json.loads((FOLDER / f"plain_{clients}_{seed}.json").read_text())["per_month"]
        other = json.loads((FOLDER / f"plain_{clients}_{seed}_rs{random_seed}.json").read_text())["per_month"]
        for a, b in zip(own, other, strict=True):
            diff = b["plain"] - a["plain"]
            ok = abs(diff) <= 0.003
            within, total = within + ok, total + 1
            verdict = "yes" if ok else "NO"
            lines.append(
                f"  {seed:>4d}  {a['month']}  {a['plain']:.4f}   {b['plain']:.4f}   {diff:+.4f}      {verdict}"
            )
    lines.append(f"  months where the two fits are within 0.003 of each other: {within} of {total}")
    text = "\n".join(lines) + "\n"
    print(text, end="")
    (ROOT / "bench" / "results" / "model_yardstick.txt").write_text(text)


def stack_marts(url: str, clients_list: list[int]) -> None:
    """Stacking 12 labelled months from the feature marts and from the raw tables (issue 16), same run."""
    from _common import schema_url
    from bench_generator import run_generate
    from bench_snapshot import backfill_marts, has_bank

    for clients in clients_list:
        bank = schema_url(url, f"rko_bench_{clients}")
        if not has_bank(bank):
            child(run_generate, bank, clients, 24)
        child(backfill_marts, bank)
        timings = {source: child(stack, bank, source) for source in ("marts", "raw")}
        marts, raw = timings["marts"], timings["raw"]
        print(
            f"stacking {marts['months']} labelled months of the {clients:,d}-client bank ({marts['rows']:,d} rows): "
            f"{marts['stack_s']:.1f} s from the marts (peak RSS {marts['peak_rss_mb']:,.0f} MB), "
            f"{raw['stack_s']:.1f} s from the raw tables: {raw['stack_s'] / marts['stack_s']:.1f}x",
            flush=True,
        )


def write_report() -> None:
    """docs/results/model_bench.md from the seeds' JSON files (and the timing file when present)."""
    from bench_model_report import render, render_txt

    note_file = FOLDER / "note.md"  # what this run could not do, written by hand beside the figures
    REPORT.write_text(render(FOLDER, note_file.read_text() if note_file.exists() else ""), encoding="utf-8")
    print(f"written {REPORT}")
    header_file = FOLDER / "note.txt"  # the same for bench/results/model.txt: what ran, the load
    TXT.write_text(render_txt(FOLDER, header_file.read_text() if header_file.exists() else ""), encoding="utf-8")
    print(f"written {TXT}")


if __name__ == "__main__":
    main()
