"""Pilot bench: the scoring steps with arms and with reasons for the contacted deciles, on PostgreSQL.

On one bank (schema rko_bench_<clients>, made by bench_generator.py's run_generate if missing)
and one champion, the DAG's steps run twice in the same process tree, one after the other:
with the arms and rules rank only (``reason_deciles`` 0) and with reasons for the top 3 deciles
(30% of the list). Printed per run: the steps' seconds and the publish step's share spent on
reasons. Target (issue 14): reasons for 30% of the list take no more than the score step
itself, i.e. at most double it.
Usage: python bench/bench_pilot.py [--clients 250000] [--url postgresql+psycopg2://...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _common import DEFAULT_PG, child, schema_url


def steps_with(url: str, folder: str, reason_deciles: int) -> dict:
    """The scoring DAG's steps with a pilot configuration whose reasons cover ``reason_deciles`` deciles."""
    import json
    import time
    from dataclasses import replace

    from bench_scoring_dag import _settings

    from rko_model import monthly
    from rko_model.snapshot import data_end
    from rko_model.warehouse.engine import make_engine

    config = Path(folder) / f"pilot_{reason_deciles}.json"
    config.write_text(json.dumps({"reason_deciles": reason_deciles}))
    settings = replace(_settings(url, folder), pilot_config_path=config)
    report_date = data_end(make_engine(url), settings)
    run_id = f"bench_pilot_{reason_deciles}__{time.time():.0f}"
    planned = monthly.plan(settings)[0]
    e = monthly.extract(settings, report_date, run_id)
    v = monthly.validate(settings, report_date, run_id, e)
    s = monthly.score(settings, report_date, run_id, v, planned["model_version"])
    p = monthly.publish(settings, report_date, run_id, [s])
    return {
        "report_date": str(report_date),
        "rows": e["rows"],
        "extract": e["seconds"],
        "validate": v["seconds"],
        "score": s["seconds"],
        "publish": p["seconds"],
        "reasons": p["pilot"]["reasons_seconds"],
        "reasons_rows": p["pilot"]["reasons_rows"],
        "arms": p["pilot"]["arms"],
    }


def main() -> None:
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=250_000)
    parser.add_argument("--url", default=DEFAULT_PG)
    args = parser.parse_args()
    from bench_generator import run_generate
    from bench_scoring_dag import prepare_model
    from bench_snapshot import has_bank

    folder = str(Path(tempfile.gettempdir()) / f"rko-bench-pilot-{args.clients}")
    Path(folder).mkdir(parents=True, exist_ok=True)
    url = schema_url(args.url, f"rko_bench_{args.clients}")
    if not has_bank(url):
        made = child(run_generate, url, args.clients, 24)
        print(f"bank of {args.clients:,d} clients x 24 months: {made['rows']:,d} rows in {made['wall_s']:.0f} s")
    model = child(prepare_model, url, folder)
    print(f"champion {model['version']}", flush=True)
    runs = {d: child(steps_with, url, folder, d) for d in (0, 3)}
    rows = runs[0]["rows"]
    print(f"\n{args.clients:,d} clients, report date {runs[0]['report_date']}: {rows:,d} eligible clients listed")
    print(f"  {'step':<10} {'arms only':>10} {'+ reasons':>10}")
    for k in ("extract", "validate", "score", "publish", "reasons"):
        print(f"  {k:<10} {runs[0][k]:>9.1f}s {runs[3][k]:>9.1f}s")
    print(f"  peak RSS  {runs[0]['peak_rss_mb']:>8,.0f}MB {runs[3]['peak_rss_mb']:>8,.0f}MB")
    with_reasons = runs[3]
    ratio = (with_reasons["score"] + with_reasons["reasons"]) / with_reasons["score"]
    explained = with_reasons["reasons_rows"]
    print(
        f"  reasons for {explained:,d} clients ({explained / rows:.0%} of the list): "
        f"{with_reasons['reasons']:.1f} s = {with_reasons['reasons'] / with_reasons['score']:.2f}x the score step; "
        f"score step + reasons = {ratio:.2f}x the score step (target <= 2.0x); arms {with_reasons['arms']}",
        flush=True,
    )


if __name__ == "__main__":
    main()
