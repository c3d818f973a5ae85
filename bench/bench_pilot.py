"""Pilot bench: the score step with arms only and with reasons for the contacted deciles, on PostgreSQL.

On one bank (schema rko_bench_<clients>, made by bench_generator.py's run_generate if missing)
and one champion, the month is extracted and validated once; then the score and publish steps
run ``--repeat`` times for each of three pilot configurations, interleaved in the same process:
arms and rules rank only (``reason_deciles`` 0), reasons for the top 3 deciles (30% of the list)
with the default approximate SHAP, and with CatBoost's exact (regular) SHAP. Reasons are
computed inside the score step (``rko_model.pilot.listing``); its ``reasons_seconds`` are split
out (with the time the step spends keeping the rows to explain while it scores). Printed:
medians per step. Target (issue 14): reasons for 30% of the list take no more than the score
step itself, i.e. at most double it.
Usage: python bench/bench_pilot.py [--clients 100000] [--url postgresql+psycopg2://...] [--repeat 3]
    [--without-regular]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _common import DEFAULT_PG, child, schema_url

#: name -> pilot configuration of a run.
CONFIGS = {
    "arms only": {"reason_deciles": 0},
    "+ reasons (approximate)": {"reason_deciles": 3, "reason_shap": "approximate"},
    "+ reasons (regular)": {"reason_deciles": 3, "reason_shap": "regular"},
}


def steps(url: str, folder: str, repeat: int, names: list[str] | None = None) -> dict:
    """Extract and validate once; score and publish ``repeat`` times per configuration (``names``), interleaved."""
    import json
    import statistics
    import time
    from dataclasses import replace

    from bench_scoring_dag import _settings

    from rko_model.runs import monthly
    from rko_model.stages.snapshot import data_end
    from rko_model.warehouse.engine import make_engine

    base = _settings(url, folder)
    report_date = data_end(make_engine(url), base)
    run_id = f"bench_pilot__{time.time():.0f}"
    planned = monthly.plan(base)[0]
    e = monthly.extract(base, report_date, run_id)
    v = monthly.validate(base, report_date, run_id, e)
    configs = {name: CONFIGS[name] for name in names or CONFIGS}
    settings = {}
    for i, (name, values) in enumerate(configs.items()):
        path = Path(folder) / f"pilot_{i}.json"
        path.write_text(json.dumps(values))
        settings[name] = replace(base, pilot_config_path=path)
    runs: dict[str, list[dict]] = {name: [] for name in configs}
    for r in range(repeat):
        for i, name in enumerate(configs):
            rid = f"{run_id}_{r}_{i}"
            s = monthly.score(settings[name], report_date, rid, v, planned["model_version"])
            p = monthly.publish(settings[name], report_date, rid, [s], validated=[v])
            reasons = float(s.get("reasons_seconds") or 0.0)
            runs[name].append(
                {
                    "score_step": s["seconds"],
                    "scoring": s["seconds"] - reasons,
                    "reasons_in_score": reasons,
                    "publish": p["seconds"],
                    "reasons_total": p["pilot"]["reasons_seconds"],
                    "reasons_rows": p["pilot"]["reasons_rows"],
                    "reasons_publish_rows": p["pilot"]["reasons_publish_rows"],
                }
            )
    medians = {name: {k: statistics.median(run[k] for run in rs) for k in rs[0]} for name, rs in runs.items()}
    return {
        "report_date": str(report_date),
        "rows": e["rows"],
        "extract": e["seconds"],
        "validate": v["seconds"],
        "medians": medians,
        "runs": runs,
    }


def bench_args(description: str | None = __doc__) -> argparse.Namespace:
    """The options of the pilot benches (this one and bench_reasons.py): clients, server, repeats."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--url", default=DEFAULT_PG)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--without-regular", action="store_true", help="skip CatBoost's exact SHAP (minutes per run at 1M clients)"
    )
    return parser.parse_args()


def prepared_bank(clients: int, server_url: str) -> tuple[str, str]:
    """The bench bank's URL (generated when missing) and a data folder holding its champion."""
    import tempfile

    from bench_generator import run_generate
    from bench_scoring_dag import prepare_model
    from bench_snapshot import has_bank

    folder = str(Path(tempfile.gettempdir()) / f"rko-bench-pilot-{clients}")
    Path(folder).mkdir(parents=True, exist_ok=True)
    url = schema_url(server_url, f"rko_bench_{clients}")
    if not has_bank(url):
        made = child(run_generate, url, clients, 24)
        print(f"bank of {clients:,d} clients x 24 months: {made['rows']:,d} rows in {made['wall_s']:.0f} s")
    print(f"champion {child(prepare_model, url, folder)['version']}", flush=True)
    return url, folder


def main() -> None:
    import os

    args = bench_args()
    url, folder = prepared_bank(args.clients, args.url)
    print(f"load before: {os.getloadavg()}", flush=True)
    names = [name for name in CONFIGS if not (args.without_regular and "regular" in name)]
    out = child(steps, url, folder, args.repeat, names)
    rows = out["rows"]
    med = out["medians"]
    base = med["arms only"]["score_step"]
    print(f"\n{args.clients:,d} clients, report date {out['report_date']}: {rows:,d} eligible clients listed")
    print(f"extract {out['extract']:.1f} s, validate {out['validate']:.1f} s (once); medians of {args.repeat} runs:")
    keys = ("score_step", "scoring", "reasons_in_score", "publish", "reasons_total", "reasons_rows")
    print(f"  {'':<26}" + "".join(f"{k:>18}" for k in keys))
    for name, m in med.items():
        print(f"  {name:<26}" + "".join(f"{m[k]:>18,.2f}" for k in keys))
    for name in names[1:]:
        m = med[name]
        print(
            f"  {name}: reasons for {m['reasons_rows']:,.0f} clients ({m['reasons_rows'] / rows:.0%} of the list) "
            f"{m['reasons_total']:.1f} s = {m['reasons_total'] / base:.2f}x the arms-only score step "
            f"({m['reasons_total'] / m['scoring']:.2f}x the same run's scoring); score step with reasons = "
            f"{m['score_step'] / base:.2f}x the arms-only one (target <= 2.0x)",
            flush=True,
        )
    print(f"  every run: {out['runs']}")
    print(f"  peak RSS {out['peak_rss_mb']:,.0f} MB; load after: {os.getloadavg()}", flush=True)


if __name__ == "__main__":
    main()
