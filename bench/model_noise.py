"""Sampling noise of the model bench's monthly Gini: paired bootstraps over a test month's clients.

Usage: python bench/model_noise.py [--draws 200]

Reads the test months' scores that ``bench_model.py quality`` and ``plain`` keep beside their JSON
(``preds_quality_<clients>_<seed>.parquet``, ``preds_plain_<clients>_<seed>.parquet``) and prints,
per seed and month, the standard deviation over bootstrap resamples of the month's rows of: the
recipe's Gini, the difference recipe - plain (paired: the same resample for both), and the
difference recipe - truth. A target missed by less than about two of these is within the noise of
a bank that size. Writes ``noise_<clients>_<seed>.json`` beside the inputs for the report.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))

from _model_data import FOLDER

from rko_model.model import metrics
from rko_model.model.retro import MULTIMODAL as RECIPE


def month_noise(g: pd.DataFrame, draws: int, rng: np.random.Generator) -> dict:
    y = g["target"].to_numpy()
    r, p, t = g[RECIPE].to_numpy(), g["plain"].to_numpy(), g["truth"].to_numpy()
    base = {"recipe": metrics.gini(y, r), "plain": metrics.gini(y, p), "truth": metrics.gini(y, t)}
    boot = []
    for _ in range(draws):
        i = rng.integers(0, len(y), len(y))
        gr, gp, gt = metrics.gini(y[i], r[i]), metrics.gini(y[i], p[i]), metrics.gini(y[i], t[i])
        boot.append((gr, gr - gp, gr - gt))
    b = np.array(boot)
    return {
        **base,
        "rows": len(y),
        "positives": int(y.sum()),
        "sd_recipe": float(b[:, 0].std()),
        "sd_recipe_minus_plain": float(b[:, 1].std()),
        "sd_recipe_minus_truth": float(b[:, 2].std()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--draws", type=int, default=200)
    args = parser.parse_args()
    for path in sorted(FOLDER.glob("preds_quality_*.parquet")):
        tag = path.stem.removeprefix("preds_quality_")
        plain_path = FOLDER / f"preds_plain_{tag}.parquet"
        if not plain_path.exists():
            print(f"{tag}: no plain scores, skipped")
            continue
        q = pd.read_parquet(path)
        p = pd.read_parquet(plain_path).rename(columns={"score": "plain"})[["client_id", "report_date", "plain"]]
        both = q.merge(p, on=["client_id", "report_date"], how="inner")
        rng = np.random.default_rng(0)
        rows = [
            {"month": str(pd.Timestamp(m).date()), **month_noise(g, args.draws, rng)}
            for m, g in both.groupby("report_date")
        ]
        frame = pd.DataFrame(rows)
        print(f"clients_seed {tag} ({args.draws} bootstrap draws per month)")
        print(frame.round(4).to_string(index=False))
        (FOLDER / f"noise_{tag}.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
