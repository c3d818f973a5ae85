"""Where the reasons' time goes: CatBoost SHAP (Regular vs Approximate), threads, chunk size, trees.

On one bank (schema rko_bench_<clients>) and its bench champion (trained by
bench_scoring_dag.prepare_model, i.e. the project's train_and_report, text feature included),
the latest month's snapshot is extracted once; the top 30% of it by score (the contacted
deciles) is explained in several ways, and each way is timed (median of ``--repeat`` runs)
beside ``predict`` of the whole snapshot. It also reports how often the Approximate top-3
reason codes agree with the Regular ones on the same rows.
Usage: python bench/bench_reasons.py [--clients 100000] [--url postgresql+psycopg2://...] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _common import DEFAULT_PG, child, schema_url


def _median_seconds(func, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times), 3)


def measure(url: str, folder: str, repeat: int) -> dict:
    """Timings of the SHAP variants on the top 30% of the latest month, and the top-3 agreement."""
    import numpy as np
    from bench_scoring_dag import _settings
    from catboost import Pool

    from rko_model.model.prepare import model_matrix
    from rko_model.model.registry import Registry
    from rko_model.pilot.reasons import explain
    from rko_model.snapshot import data_end, extract_snapshot
    from rko_model.warehouse.engine import make_engine

    settings = _settings(url, folder)
    engine = make_engine(url)
    report_date = data_end(engine, settings)
    registry = Registry(settings.registry_dir)
    package = registry.load(registry.required_champion_version())
    model, spec = package.model, package.spec
    snapshot = extract_snapshot(engine, report_date, settings)
    out: dict = {"rows": len(snapshot), "trees": model.tree_count_, "features": len(spec.features)}
    out["predict_all_s"] = _median_seconds(lambda: package.score(snapshot), repeat)
    scores = package.score(snapshot)
    top = snapshot.iloc[np.argsort(-scores, kind="stable")[: int(0.3 * len(snapshot))]].reset_index(drop=True)
    out["top_rows"] = len(top)
    matrix = model_matrix(top, spec)
    pool = Pool(matrix, cat_features=list(spec.categorical), text_features=list(spec.text) or None)

    def shap(calc: str, threads: int = -1, rows: Pool = pool) -> np.ndarray:
        return model.get_feature_importance(rows, type="ShapValues", shap_calc_type=calc, thread_count=threads)

    out["pool_s"] = _median_seconds(
        lambda: Pool(model_matrix(top, spec), cat_features=list(spec.categorical), text_features=list(spec.text)),
        repeat,
    )
    for calc in ("Regular", "Approximate"):
        out[f"{calc}_s"] = _median_seconds(lambda c=calc: shap(c), repeat)
        out[f"{calc}_1thread_s"] = _median_seconds(lambda c=calc: shap(c, 1), 1)
    # chunk size: the same rows in chunks of 5k and in one call
    for size in (5_000, len(top)):
        chunks = [
            Pool(
                model_matrix(top.iloc[s : s + size], spec),
                cat_features=list(spec.categorical),
                text_features=list(spec.text),
            )
            for s in range(0, len(top), size)
        ]
        out[f"Regular_chunk{size}_s"] = _median_seconds(lambda cs=chunks: [shap("Regular", -1, p) for p in cs], 1)
    # per-row cost: a sample of 3,000 rows (CatBoost's shrink() breaks a model with text features in
    # ShapValues, "result buffer has size 384 less than text processing produce 47744", so the cost
    # against trees is not measured on cut copies)
    sample = Pool(
        model_matrix(top.iloc[:3000], spec), cat_features=list(spec.categorical), text_features=list(spec.text)
    )
    for calc in ("Regular", "Approximate"):
        seconds = _median_seconds(
            lambda c=calc: model.get_feature_importance(sample, type="ShapValues", shap_calc_type=c), repeat
        )
        out[f"ms_per_row_{calc}_3000rows"] = round(1000 * seconds / 3000, 3)
    out["ms_per_row_predict_3000rows"] = round(1000 * _median_seconds(lambda: model.predict(sample), repeat) / 3000, 4)
    # agreement of the top-3 reason codes, and the additivity of the approximate values
    regular = explain(model, top, spec, shap_calc_type="Regular")
    approximate = explain(model, top, spec, shap_calc_type="Approximate")
    codes = ["reason_1", "reason_2", "reason_3"]
    r = regular[codes].fillna("").to_numpy()
    a = approximate[codes].fillna("").to_numpy()
    out["agree_top1"] = round(float(np.mean(r[:, 0] == a[:, 0])), 4)
    out["agree_top3_ordered"] = round(float(np.mean((r == a).all(axis=1))), 4)
    out["agree_top3_as_set"] = round(float(np.mean([set(x) == set(y) for x, y in zip(r, a, strict=True)])), 4)
    out["mean_overlap_of_3"] = round(
        float(np.mean([len(set(x) & set(y) - {""}) for x, y in zip(r, a, strict=True)])), 3
    )
    raw = model.predict(pool, prediction_type="RawFormulaVal")
    approx_full = shap("Approximate")
    out["approximate_additive_max_err"] = float(np.abs(approx_full.sum(axis=1) - raw).max())
    out["explain_Regular_s"] = _median_seconds(lambda: explain(model, top, spec, shap_calc_type="Regular"), 1)
    out["explain_Approximate_s"] = _median_seconds(
        lambda: explain(model, top, spec, shap_calc_type="Approximate"), repeat
    )
    return out


def main() -> None:
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--url", default=DEFAULT_PG)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from bench_scoring_dag import prepare_model

    folder = str(Path(tempfile.gettempdir()) / f"rko-bench-pilot-{args.clients}")
    Path(folder).mkdir(parents=True, exist_ok=True)
    url = schema_url(args.url, f"rko_bench_{args.clients}")
    print(f"champion {child(prepare_model, url, folder)['version']}", flush=True)
    out = child(measure, url, folder, args.repeat)
    for key, value in out.items():
        print(f"  {key:<34} {value}", flush=True)


if __name__ == "__main__":
    main()
