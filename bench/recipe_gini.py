"""The recipe's out-of-time Gini per test month on a model bench bank, quickly (no ceilings, no baselines).

Usage: python bench/recipe_gini.py SEED [SAMPLE [LEARNING_RATE [TIME_FOLDS [EARLY_STOPPING_ROUNDS]]]]
(the frames of bench/_model_data.py: 60,000 clients x 36 months).

Compare with ``bench/bench_model.py plain`` of the same seed and sample. Writes
data/bench_model/recipe_<clients>_<seed>_lr<rate>.json (RKO_BENCH_MODEL_DIR moves the folder).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _model_data import FOLDER, frames, months_of, sampled

from rko_model.model import metrics
from rko_model.model.spec import rko_spec
from rko_model.model.train import TrainParams, train

CLIENTS = 60_000


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    seed = int(sys.argv[1])
    sample = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
    base = TrainParams()
    params = TrainParams(
        learning_rate=float(sys.argv[3]) if len(sys.argv) > 3 else base.learning_rate,
        time_folds=int(sys.argv[4]) if len(sys.argv) > 4 else base.time_folds,
        early_stopping_rounds=int(sys.argv[5]) if len(sys.argv) > 5 else base.early_stopping_rounds,
    )
    data = sampled(frames(CLIENTS, seed), sample)
    train_frame = months_of(data["all"], data["plan"]["train_months"])
    test = months_of(data["all"], data["plan"]["test_months"])
    started = time.perf_counter()
    model = train(train_frame, rko_spec(), params)
    test["score"] = model.predict(test)
    out = {
        "seed": seed,
        "learning_rate": params.learning_rate,
        "clients": int(CLIENTS * sample),
        "time_folds": params.time_folds,
        "early_stopping_rounds": params.early_stopping_rounds,
        "best_iteration": model.best_iteration + 1,
        "fold_best": [b + 1 for b in model.fold_best],
        "trees": model.iterations,
        "seconds": round(time.perf_counter() - started),
        "per_month": {
            str(month.date()): metrics.gini(g["target"].to_numpy(), g["score"].to_numpy())
            for month, g in test.groupby("report_date")
        },
    }
    tag = f"lr{params.learning_rate:g}_tf{params.time_folds}_es{params.early_stopping_rounds}"
    path = FOLDER / f"recipe_{out['clients']}_{seed}_{tag}.json"
    path.write_text(json.dumps(out, indent=1))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
