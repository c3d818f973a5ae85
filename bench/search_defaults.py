"""The small search behind the training defaults (``rko_model/model/defaults.py``).

Usage: python bench/search_defaults.py [--clients 20000] [--sample 0.5] [--seeds 7 11 23] [--out FILE]

On banks of ``--clients`` clients x 36 months, one per seed, the CatBoost multimodal recipe
(time holdout, early stopping) is trained on the 12 retro training months and scored on the 6
test months, for a base setting and settings that change one thing at a time (learning rate,
depth, l2, text processing). Reduced on purpose, for a 2-core machine shared by five other
engineers: 20,000-client banks of which a stable ``--sample`` share of clients is kept, one
factor at a time rather than a grid (base; learning rate 0.15; depth 4; l2 15),
the early-stopped model scored without its refit (the refit changes every setting alike), and
no setting that costs more trees or deeper trees (a lower learning rate, depth 8: the bench's
plain-CatBoost yardstick at 0.05 covers that side).
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
    {"learning_rate": 0.15},
    {"depth": 4},
    {"l2_leaf_reg": 15.0},
]


def one(clients: int, seed: int, change: dict, sample: float) -> dict:
    import numpy as np
    from _model_data import frames, months_of

    from rko_model.model import metrics
    from rko_model.model.spec import rko_spec
    from rko_model.model.train import TrainParams, train

    data = frames(clients, seed)
    plan = data["plan"]
    kept = data["all"][(data["all"]["client_id"] * 2654435761 % 1000) < sample * 1000]
    train_frame = months_of(kept, plan["train_months"])
    test_frame = months_of(kept, plan["test_months"])
    started = time.perf_counter()
    model = train(train_frame, rko_spec(), TrainParams(**{**BASE, **change, "refit": False}))
    seconds = time.perf_counter() - started
    test_frame["score"] = model.predict(test_frame)
    ginis = [metrics.gini(g["target"].to_numpy(), g["score"].to_numpy()) for _, g in test_frame.groupby("report_date")]
    return {
        "seed": seed,
        "train_rows": len(train_frame),
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
    parser.add_argument("--sample", type=float, default=0.3, help="share of the bank's clients kept")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "search_defaults.jsonl")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    done = set()
    if args.out.exists():
        for line in args.out.read_text().splitlines():
            row = json.loads(line)
            done.add((row["seed"], json.dumps(row["change"], sort_keys=True)))
    for change in CHANGES:  # settings outer: every seed of a setting before the next setting
        for seed in args.seeds:
            if (seed, json.dumps(change, sort_keys=True)) in done:
                continue
            row = one(args.clients, seed, change, args.sample)
            with args.out.open("a") as handle:
                handle.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)
    summarise(args.out)


def summarise(path: Path) -> str:
    """Print and return the table: per setting, mean test Gini over seeds and its gain over the base."""
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
    text = f"base: {BASE}\n" + table.round(4).to_string()
    print(text)
    return text


if __name__ == "__main__":
    main()
