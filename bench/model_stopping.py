"""Where does the recipe's early stopping land against the test months? (diagnosis of the model bench)

Usage: python bench/model_stopping.py [--clients 60000] [--seed 7] [--sample 0.25] [--trees 1500] [--runs as_is purged]

On one bank's 12 retro training months, the recipe's CatBoost (the defaults of
``rko_model/model/defaults.py``) is fitted for a fixed number of trees on the rows outside the time
holdout, with two evaluation sets: the holdout (what early stopping watches) and the 6 out-of-time
test months. Twice: with the holdout of ``train.time_holdout`` as it is, and "purged" (the fit
rows of the label horizon's months before the holdout dropped: a client's 3-month opening window
then cannot be shared by a fit row and a held row). It prints, per fit, the best iteration by the
holdout's AUC and by the test months' AUC, and the test Gini at each; with the plain yardstick's
learning rate 0.05 / l2 3 as a third curve when ``--plain`` is given.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))

from _model_data import FOLDER, frames, months_of, sampled
from catboost import CatBoostClassifier

from rko_model import columns as col
from rko_model.model.spec import rko_spec
from rko_model.model.train import TrainParams, _pool, time_holdout


def curve(fit: pd.DataFrame, held: pd.DataFrame, test: pd.DataFrame, params: TrainParams, trees: int) -> dict:
    spec = rko_spec()
    model = CatBoostClassifier(**params.catboost_kwargs(iterations=trees, with_text=True))
    started = time.perf_counter()
    model.fit(_pool(fit, spec), eval_set=[_pool(held, spec), _pool(test, spec)], use_best_model=False)
    evals = model.get_evals_result()
    held_auc = np.array(evals["validation_0"]["AUC"])
    test_auc = np.array(evals["validation_1"]["AUC"])
    best_held, best_test = int(held_auc.argmax()), int(test_auc.argmax())
    return {
        "fit_rows": len(fit),
        "held_rows": len(held),
        "best_iteration_holdout": best_held + 1,
        "best_iteration_test": best_test + 1,
        "test_gini_at_holdout_best": round(2 * test_auc[best_held] - 1, 4),
        "test_gini_at_test_best": round(2 * test_auc[best_test] - 1, 4),
        "test_gini_by_trees": {
            str(k): round(2 * test_auc[k - 1] - 1, 4) for k in (100, 250, 500, 1000, trees) if k <= trees
        },
        "seconds": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=60_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sample", type=float, default=0.25)
    parser.add_argument("--trees", type=int, default=1500)
    parser.add_argument("--plain", action="store_true")
    parser.add_argument("--runs", nargs="+", default=["as_is", "purged"], help="which fits (as_is, purged)")
    args = parser.parse_args()
    data = sampled(frames(args.clients, args.seed), args.sample)
    train_frame = months_of(data["all"], data["plan"]["train_months"])
    test_frame = months_of(data["all"], data["plan"]["test_months"])
    spec = rko_spec()
    fit_mask, held_mask = time_holdout(train_frame, spec, TrainParams().validation_share)
    dates = pd.to_datetime(train_frame[spec.date_column])
    first_held = dates[held_mask].min()
    gap = first_held - pd.DateOffset(months=col.LABEL_HORIZON_MONTHS - 1)
    purged = fit_mask & (dates < gap).to_numpy()
    out = {"clients": int(args.clients * args.sample), "seed": args.seed, "trees": args.trees}
    runs = {"as_is": (fit_mask, TrainParams()), "purged": (purged, TrainParams())}
    if args.plain:
        runs["plain_lr_0.05_l2_3"] = (fit_mask, TrainParams(learning_rate=0.05, l2_leaf_reg=3.0))
    runs = {k: v for k, v in runs.items() if k in args.runs or k.startswith("plain")}
    for name, (mask, params) in runs.items():
        out[name] = curve(train_frame[mask], train_frame[held_mask], test_frame, params, args.trees)
        print(name, json.dumps(out[name]), flush=True)
    path = FOLDER / f"stopping_{out['clients']}_{args.seed}.json"
    path.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
