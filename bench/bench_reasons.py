"""Where the reasons' time goes: CatBoost SHAP (Regular vs Approximate), threads, chunk size, trees.

On one bank (schema rko_bench_<clients>) and its bench champion (trained by
bench_scoring_dag.prepare_model, i.e. the project's train_and_report, text feature included),
the latest month's snapshot is extracted once; the top 30% of it by score (the contacted
deciles) is explained in several ways, and each way is timed (median of ``--repeat`` runs)
beside ``predict`` of the whole snapshot: CatBoost's get_feature_importance (Regular, Approximate,
threads, call size) and the leaf-table evaluation of CatBoost's approximate SHAP that the reasons
use (rko_model.pilot.leaf_shap). It also reports how often each approximate method's top-3
reason codes agree with CatBoost's Regular ones on the same rows, and the mean |value| of the
categorical and text features under each method.
Usage: python bench/bench_reasons.py [--clients 100000] [--url postgresql+psycopg2://...] [--repeat 3]
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _common import child


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
    from rko_model.pilot.leaf_shap import approximate_shap, leaf_table
    from rko_model.pilot.reasons import contributions, grouped_contributions
    from rko_model.stages.snapshot import data_end, extract_snapshot
    from rko_model.warehouse.engine import make_engine

    settings = _settings(url, folder)
    engine = make_engine(url)
    report_date = data_end(engine, settings)
    registry = Registry.of(settings)
    package = registry.load(registry.required_champion_version())
    model, spec = package.model, package.spec
    snapshot = extract_snapshot(engine, report_date, settings)
    out: dict = {"rows": len(snapshot), "trees": model.tree_count_, "features": len(spec.features)}
    out["predict_all_s"] = _median_seconds(lambda: package.score(snapshot), repeat)
    scores = package.score(snapshot)
    top = snapshot.iloc[np.argsort(-scores, kind="stable")[: int(0.3 * len(snapshot))]].reset_index(drop=True)
    out["top_rows"] = len(top)
    pool = Pool(model_matrix(top, spec), cat_features=list(spec.categorical), text_features=list(spec.text))

    def shap(calc: str, threads: int = -1, rows: Pool = pool) -> np.ndarray:
        return model.get_feature_importance(rows, type="ShapValues", shap_calc_type=calc, thread_count=threads)

    out["pool_s"] = _median_seconds(
        lambda: Pool(model_matrix(top, spec), cat_features=list(spec.categorical), text_features=list(spec.text)),
        repeat,
    )
    out["predict_top_s"] = _median_seconds(lambda: model.predict(pool, prediction_type="RawFormulaVal"), repeat)
    out["catboost_Regular_s"] = _median_seconds(lambda: shap("Regular"), repeat)
    out["catboost_Regular_1thread_s"] = _median_seconds(lambda: shap("Regular", 1), 1)
    out["catboost_Approximate_s"] = _median_seconds(lambda: shap("Approximate"), repeat)
    out["catboost_Approximate_1thread_s"] = _median_seconds(lambda: shap("Approximate", 1), 1)
    chunks = [
        Pool(
            model_matrix(top.iloc[s : s + 5000], spec),
            cat_features=list(spec.categorical),
            text_features=list(spec.text),
        )
        for s in range(0, len(top), 5000)
    ]
    out["catboost_Regular_in_5000_row_calls_s"] = _median_seconds(lambda: [shap("Regular", -1, p) for p in chunks], 1)
    out["leaf_table_build_s"] = _median_seconds(lambda: leaf_table(model, pool), repeat)
    table = leaf_table(model, pool)
    out["calc_leaf_indexes_s"] = _median_seconds(lambda: model.calc_leaf_indexes(pool), repeat)
    out["leaf_table_approximate_s"] = _median_seconds(lambda: approximate_shap(model, pool, table), repeat)
    out["contributions_approximate_s"] = _median_seconds(lambda: contributions(model, top, spec, "Approximate"), repeat)

    # agreement of the top-3 reason codes (as explain ranks them) between the methods
    def top3(values: np.ndarray) -> np.ndarray:
        grouped, codes = grouped_contributions(values, spec)
        order = np.argsort(-grouped, axis=1, kind="stable")[:, :3]
        names = np.asarray(codes, dtype=object)[order]
        names[np.take_along_axis(grouped, order, axis=1) <= 1e-6] = ""
        return names

    regular = shap("Regular")[:, :-1]
    methods = {
        "catboost_approximate": shap("Approximate")[:, :-1],
        "leaf_table_approximate": approximate_shap(model, pool, table),
    }
    r = top3(regular)
    for name, values in methods.items():
        a = top3(values)
        out[f"{name}_vs_regular_top1"] = round(float(np.mean(r[:, 0] == a[:, 0])), 4)
        out[f"{name}_vs_regular_top3_ordered"] = round(float(np.mean((r == a).all(axis=1))), 4)
        out[f"{name}_vs_regular_top3_set"] = round(
            float(np.mean([set(x) == set(y) for x, y in zip(r, a, strict=True)])), 4
        )
        out[f"{name}_vs_regular_mean_overlap_of_3"] = round(
            float(np.mean([len(set(x) & set(y) - {""}) for x, y in zip(r, a, strict=True)])), 3
        )
    pooled = set(model.get_cat_feature_indices()) | set(model.get_text_feature_indices())
    numeric = [i for i in range(regular.shape[1]) if i not in pooled]
    own = methods["catboost_approximate"]
    out["leaf_table_max_diff_numeric"] = float(
        np.abs(own[:, numeric] - methods["leaf_table_approximate"][:, numeric]).max()
    )
    out["leaf_table_max_diff_totals"] = float(np.abs(own.sum(1) - methods["leaf_table_approximate"].sum(1)).max())
    names = list(model.feature_names_)
    for i in sorted(pooled):
        out[f"mean_abs_{names[i]}_catboost_regular|catboost_approx|leaf_table"] = (
            round(float(np.abs(regular[:, i]).mean()), 4),
            round(float(np.abs(own[:, i]).mean()), 4),
            round(float(np.abs(methods["leaf_table_approximate"][:, i]).mean()), 4),
        )
    return out


def main() -> None:
    from bench_pilot import bench_args, prepared_bank

    args = bench_args(__doc__)
    url, folder = prepared_bank(args.clients, args.url)
    out = child(measure, url, folder, args.repeat)
    for key, value in out.items():
        print(f"  {key:<34} {value}", flush=True)


if __name__ == "__main__":
    main()
