"""Reasons' cost before and after a change: the score step of two checkouts on one bank, in one session.

On one bank (schema rko_bench_<clients>, made as bench_pilot.py makes it) and one champion, the
month is extracted and validated once (by this checkout). Then, for each round, each checkout
(old first, then new, so that both see the same machine load) runs in a fresh interpreter whose
``PYTHONPATH`` is that checkout: the score step with arms only (``reason_deciles`` 0), then with
reasons for the top 3 deciles (approximate SHAP), on the same snapshot file. A fresh interpreter
loads the package as an Airflow task does, so per-package costs (the leaf table) count.
Printed per round and as medians: the score steps, the reasons part of the second (as each
checkout's step reports it) and the ratios against the same process's arms-only step. Target
(issue 14): reasons for 30% of the list cost no more than the score step, i.e. the score step
with reasons is at most twice the arms-only one.
Usage: python bench/bench_pilot_checkouts.py --old /work/main --new . [--clients 1000000]
    [--url postgresql+psycopg2://...] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _common import DEFAULT_PG

#: Runs in the checkout's interpreter: arms-only then reasons score steps on one validated snapshot.
_CODE = """
import json, sys, time
from dataclasses import replace
from pathlib import Path
from rko_model.runs import monthly
from rko_model.settings import Settings
url, folder, report_date, validated, version, tag = json.loads(sys.argv[1])
base = Settings.from_env({"RKO_DATA_DIR": folder, "RKO_FEATURE_SOURCE": "auto"})
base = replace(base, warehouse_url=url, staging_url=url)
out = {}
for name, config in (("arms", {"reason_deciles": 0}), ("reasons", {"reason_deciles": 3, "reason_shap": "approximate"})):
    path = Path(folder) / f"pilot_checkouts_{name}.json"
    path.write_text(json.dumps(config))
    ref = monthly.score(replace(base, pilot_config_path=path), report_date, f"{tag}_{name}", validated, version)
    out[name] = {"seconds": ref["seconds"], "reasons": float(ref.get("reasons_seconds") or 0.0),
                 "reasons_rows": int(ref.get("reasons_rows") or 0), "rows": ref["rows"]}
import rko_model
out["code"] = rko_model.__file__
print("RESULT " + json.dumps(out))
"""


def prepare(url: str, folder: str) -> dict:
    """Extract and validate the latest month once; the champion's version."""
    import time

    from bench_scoring_dag import _settings

    from rko_model.model.registry import Registry
    from rko_model.runs import monthly
    from rko_model.stages.snapshot import data_end
    from rko_model.warehouse.engine import make_engine

    settings = _settings(url, folder)
    report_date = data_end(make_engine(url), settings)
    run_id = f"bench_pilot_checkouts__{time.time():.0f}"
    extracted = monthly.extract(settings, report_date, run_id)
    validated = monthly.validate(settings, report_date, run_id, extracted)
    return {
        "report_date": str(report_date),
        "validated": validated,
        "version": Registry.of(settings).champion_version(),
        "rows": extracted["rows"],
    }


def in_checkout(checkout: Path, *args: object) -> dict:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    proc = subprocess.run(
        [sys.executable, "-c", _CODE, json.dumps(args)], capture_output=True, text=True, env=env, cwd=checkout
    )
    if proc.returncode != 0:
        raise SystemExit(f"{checkout} failed:\n{proc.stderr[-3000:]}")
    return json.loads(next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))[len("RESULT ") :])


def main() -> None:
    from _common import child
    from bench_pilot import prepared_bank

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--old", type=Path, required=True, help="checkout before the change")
    parser.add_argument("--new", type=Path, required=True, help="checkout after the change")
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--url", default=DEFAULT_PG)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    url, folder = prepared_bank(args.clients, args.url)
    prepared = child(prepare, url, folder)
    print(f"{prepared['rows']:,d} clients listed, report date {prepared['report_date']}", flush=True)
    print(f"load before: {os.getloadavg()}", flush=True)
    checkouts = {"old": args.old.resolve(), "new": args.new.resolve()}
    runs: dict[str, list[dict]] = {side: [] for side in checkouts}
    for round_no in range(1, args.rounds + 1):
        for side, checkout in checkouts.items():
            tag = f"checkouts_{side}_{round_no}"
            out = in_checkout(
                checkout, url, folder, prepared["report_date"], prepared["validated"], prepared["version"], tag
            )
            arms, reasons = out["arms"]["seconds"], out["reasons"]
            row = {
                "arms_step": arms,
                "reasons_step": reasons["seconds"],
                "reasons": reasons["reasons"],
                "scoring": round(reasons["seconds"] - reasons["reasons"], 2),
                "reasons_rows": reasons["reasons_rows"],
                "load": round(os.getloadavg()[0], 1),
            }
            row["reasons/arms_step"] = round(row["reasons"] / arms, 2)
            row["reasons/scoring"] = round(row["reasons"] / row["scoring"], 2)
            row["step_with/arms_step"] = round(row["reasons_step"] / arms, 2)
            runs[side].append(row)
            print(f"round {round_no} {side} ({out['code']}): {json.dumps(row)}", flush=True)
    print(f"\n{args.clients:,d} clients, medians of {args.rounds} rounds (old = {args.old}, new = {args.new})")
    keys = (
        "arms_step",
        "reasons_step",
        "scoring",
        "reasons",
        "reasons/arms_step",
        "reasons/scoring",
        "step_with/arms_step",
    )
    print(f"  {'':<22}{'old':>10}{'new':>10}")
    for key in keys:
        old = statistics.median(r[key] for r in runs["old"])
        new = statistics.median(r[key] for r in runs["new"])
        print(f"  {key:<22}{old:>10.2f}{new:>10.2f}")
    print(f"  reasons for {runs['new'][0]['reasons_rows']:,d} clients; load after: {os.getloadavg()}", flush=True)


if __name__ == "__main__":
    main()
