"""Model bench: training time and peak RSS for 100k clients x 12 stacked months, and scoring throughput
of the packaged model against a bare CatBoostClassifier.predict_proba on the same 1M rows.

Usage: python bench/bench_model.py [--clients 100000] [--score-rows 1000000] [--url URL]
Generates a 36-month bank in schema rko_bench_model_<clients> when it holds none.
Target (issue 3): the package scores at no less than 0.8 of bare CatBoost's rows/s.

Stacking from the feature marts (issue 16): ``--stack-clients 100000 1000000`` stacks the 12
latest labelled months of the 24-month banks of bench_generator.py (schema rko_bench_<clients>,
marts built first) from the marts and from the raw tables, in the same run. Targets: under 10 s
at 100k and under 120 s at 1M. ``--stack-only`` skips the training and scoring parts.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _common import DEFAULT_PG, child, schema_url


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
    from rko_model.dates import add_months
    from rko_model.model.dataset import build_dataset
    from rko_model.settings import Settings
    from rko_model.snapshot import data_end
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

    from rko_model.model.package import data_fingerprint, reference_distributions, save_package
    from rko_model.model.spec import rko_spec
    from rko_model.model.train import TrainParams, train

    frame = pd.read_parquet(Path(folder) / "train.parquet")
    started = time.perf_counter()
    model = train(frame, rko_spec(), TrainParams(negative_share=0.5))
    seconds = time.perf_counter() - started
    package = Path(folder) / "package"
    save_package(
        model,
        package,
        version="bench",
        training_months=[],
        retro={"gini_mean": 0, "gini_std": 0},
        fingerprint=data_fingerprint(frame, model.spec),
        reference=reference_distributions(frame, model.predict(frame), model),
    )
    return {"rows": len(frame), "fit_s": round(seconds, 1), "iterations": model.best_iteration + 1}


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


def main() -> None:
    import tempfile

    from bench_generator import run_generate

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--score-rows", type=int, default=1_000_000)
    parser.add_argument("--url", default=DEFAULT_PG)
    parser.add_argument("--stack-clients", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--stack-only", action="store_true", help="only the stacking from marts and raw tables")
    args = parser.parse_args()
    from bench_snapshot import backfill_marts, has_bank

    for clients in args.stack_clients:
        bank = schema_url(args.url, f"rko_bench_{clients}")
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
    if args.stack_only:
        return

    url = schema_url(args.url, f"rko_bench_model_{args.clients}")
    if not has_bank(url):
        print(f"(generating a {args.clients:,d}-client, 36-month bank first)", flush=True)
        child(run_generate, url, args.clients, 36)
    with tempfile.TemporaryDirectory() as folder:
        out = child(build, url, folder)
        print(
            f"dataset: {out['months']} months stacked, {out['train_rows']:,d} training rows, "
            f"{out['test_rows']:,d} test rows; {out['wall_s']:.1f} s, peak RSS {out['peak_rss_mb']:,.0f} MB",
            flush=True,
        )
        out = child(fit, folder)
        print(
            f"training (CatBoost multimodal, negatives halved): {out['rows']:,d} rows, {out['iterations']} "
            f"iterations, fit {out['fit_s']:.1f} s, wall {out['wall_s']:.1f} s, peak RSS {out['peak_rss_mb']:,.0f} MB",
            flush=True,
        )
        out = child(score, folder, args.score_rows)
        print(
            f"scoring {out['rows']:,d} rows: package {out['package_rows_s']:,d} rows/s, bare CatBoost "
            f"{out['bare_rows_s']:,d} rows/s, ratio {out['ratio']:.2f}; peak RSS {out['peak_rss_mb']:,.0f} MB"
        )


if __name__ == "__main__":
    main()
