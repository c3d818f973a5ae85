"""The small search behind the training defaults (``rko_model/model/defaults.py``).

Usage: python bench/search_defaults.py [--clients 20000] [--seeds 7 11 23] [--out FILE]

On banks of ``--clients`` clients x 36 months, one per seed, the CatBoost multimodal recipe
(time holdout, early stopping, refit on all rows) is trained on the 12 retro training months
and scored on the 6 test months, for a base setting and settings that change one thing at a
time (learning rate, depth, l2, text processing). Reduced on purpose, for a 2-core machine
shared by others: 20,000 clients rather than 60,000, one factor at a time rather than a grid.
It prints, per setting, the mean test Gini over months and seeds, its spread over seeds,
the trees chosen and the fit time; the winner is the best mean unless a cheaper setting is
within the seeds' noise.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

BASE = {"learning_rate": 0.08, "depth": 6, "l2_leaf_reg": 5.0, "text_processing": "default"}
CHANGES = [
    {},
    {"learning_rate": 0.04},
    {"learning_rate": 0.15},
    {"depth": 4},
    {"depth": 8},
    {"l2_leaf_reg": 1.0},
    {"l2_leaf_reg": 15.0},
    {"text_processing": "bigrams"},
]


def one(clients: int, seed: int, change: dict) -> dict:
    import numpy as np
    from _model_data import frames, months_of

    from rko_model.model import metrics
    from rko_model.model.spec import rko_spec
    from rko_model.model.train import TrainParams, train

    data = frames(clients, seed)
    plan = data["plan"]
    train_frame = months_of(data["all"], plan["train_months"])
    test_frame = months_of(data["all"], plan["test_months"])
    started = time.perf_counter()
    model = train(train_frame, rko_spec(), TrainParams(**{**BASE, **change}))
    seconds = time.perf_counter() - started
    test_frame["score"] = model.predict(test_frame)
    ginis = [metrics.gini(g["target"].to_numpy(), g["score"].to_numpy()) for _, g in test_frame.groupby("report_date")]
    return {
        "seed": seed,
        "change": change,
        "gini_mean": float(np.mean(ginis)),
        "gini_std": float(np.std(ginis)),
        "best_iteration": model.best_iteration + 1,
        "trees": model.iterations,
        "seconds": round(seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=20_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[7, 11, 23])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "search_defaults.jsonl")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    done = set()
    if args.out.exists():
        for line in args.out.read_text().splitlines():
            row = json.loads(line)
            done.add((row["seed"], json.dumps(row["change"], sort_keys=True)))
    for seed in args.seeds:
        for change in CHANGES:
            if (seed, json.dumps(change, sort_keys=True)) in done:
                continue
            row = one(args.clients, seed, change)
            with args.out.open("a") as handle:
                handle.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)
    summarise(args.out)


def summarise(path: Path) -> None:
    import pandas as pd

    rows = [json.loads(line) for line in path.read_text().splitlines()]
    frame = pd.DataFrame(rows)
    frame["setting"] = [", ".join(f"{k}={v}" for k, v in c.items()) or "base" for c in frame["change"]]
    table = frame.groupby("setting", sort=False).agg(
        seeds=("seed", "nunique"),
        gini_mean=("gini_mean", "mean"),
        gini_seed_sd=("gini_mean", "std"),
        monthly_std=("gini_std", "mean"),
        best_iteration=("best_iteration", "mean"),
        seconds=("seconds", "mean"),
    )
    base = frame[frame["setting"] == "base"].set_index("seed")["gini_mean"]
    frame["vs_base"] = frame["gini_mean"] - frame["seed"].map(base)
    table["vs_base"] = frame.groupby("setting", sort=False)["vs_base"].mean()
    table["vs_base_min"] = frame.groupby("setting", sort=False)["vs_base"].min()
    print(f"base: {BASE}")
    print(table.round(4).to_string())


if __name__ == "__main__":
    main()
