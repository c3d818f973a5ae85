"""Partitioned scoring bench: 250k and 1M clients, one partition and four, on PostgreSQL.

Each step of each partition runs in a child process of its own (as a Celery worker would run
the mapped task), so its peak RSS is its own; the partitions run one after the other here
(this machine has 2 cores). Prints per step: wall time summed over partitions, rows/s, and
the largest peak RSS of a step's processes. Also the score step's peak RSS at 1M against
250k clients (issue 6: at most 1.3x; scoring streams the snapshot in chunks).
Usage: python bench/bench_partitions.py [--clients 250000 1000000] [--partitions 1 4]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _common import DEFAULT_PG, child, schema_url

STEPS = ("extract", "validate", "score", "publish", "record")


def _settings(url: str, folder: str):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from rko_model.settings import Settings

    return replace(Settings.from_env({"RKO_DATA_DIR": folder}), warehouse_url=url, staging_url=url)


def report_date_of(url: str, folder: str) -> dict:
    from rko_model.stages.snapshot import data_end
    from rko_model.warehouse.engine import make_engine

    return {"report_date": str(data_end(make_engine(url), _settings(url, folder)))}


def step(name: str, url: str, folder: str, report_date: str, run_id: str, args: list) -> dict:
    """One step of the monthly run, as its Airflow task calls it."""
    from rko_model.common.partitions import Partition
    from rko_model.runs import monthly

    settings = _settings(url, folder)
    if name == "plan":
        return {"planned": monthly.plan(settings, args[0])}
    if name == "extract":
        return monthly.extract(settings, report_date, run_id, Partition(*args))
    if name == "validate":
        return monthly.validate(settings, report_date, run_id, args[0])
    if name == "score":
        return monthly.score(settings, report_date, run_id, args[0], args[1])
    if name == "publish":
        return monthly.publish(settings, report_date, run_id, args[0], validated=args[1])
    extracted, validated, scored, published = args
    return monthly.record(
        settings, report_date, run_id, extracted=extracted, validated=validated, scored=scored, published=published
    )


def run_month(url: str, folder: str, report_date: str, partitions: int) -> dict:
    import time

    run_id = f"bench_p{partitions}__{time.time():.0f}"
    planned = child(step, "plan", url, folder, report_date, run_id, [partitions])["planned"]
    refs: dict[str, list[dict]] = {name: [] for name in STEPS}
    for plan in planned:
        refs["extract"].append(
            child(step, "extract", url, folder, report_date, run_id, [plan["partition"], plan["partitions"]])
        )
        refs["validate"].append(child(step, "validate", url, folder, report_date, run_id, [refs["extract"][-1]]))
        refs["score"].append(
            child(step, "score", url, folder, report_date, run_id, [refs["validate"][-1], plan["model_version"]])
        )
    refs["publish"].append(child(step, "publish", url, folder, report_date, run_id, [refs["score"], refs["validate"]]))
    args = [refs["extract"], refs["validate"], refs["score"], refs["publish"][0]]
    refs["record"].append(child(step, "record", url, folder, report_date, run_id, args))
    rows = sum(r["rows"] for r in refs["extract"])
    return {
        name: {
            # the step's own time (as its task logs it); the process's wall time adds interpreter start-up
            "seconds": sum(float(r.get("seconds") or r["wall_s"]) for r in refs[name]),
            "wall_s": sum(r["wall_s"] for r in refs[name]),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in refs[name]),
        }
        for name in STEPS
    } | {"rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, nargs="+", default=[250_000, 1_000_000])
    parser.add_argument("--partitions", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--url", default=DEFAULT_PG)
    args = parser.parse_args()
    from bench_generator import run_generate
    from bench_scoring_dag import prepare_model
    from bench_snapshot import has_bank

    folder = str(Path(tempfile.gettempdir()) / "rko-bench-work")  # shared with bench_scoring_dag.py
    model = child(prepare_model, schema_url(args.url, "rko_bench_100000"), folder)
    print(f"champion {model['version']} (trained on the 100,000-client bank); steps in child processes", flush=True)
    score_rss: dict[int, float] = {}
    for clients in sorted(args.clients):
        url = schema_url(args.url, f"rko_bench_{clients}")
        if not has_bank(url):
            child(run_generate, url, clients, 24)
        report_date = child(report_date_of, url, folder)["report_date"]
        for partitions in args.partitions:
            out = run_month(url, folder, report_date, partitions)
            total = sum(out[name]["seconds"] for name in STEPS)
            print(f"\n{clients:,d} clients, {report_date}, {partitions} partition(s): {out['rows']:,d} clients scored")
            for name in STEPS:
                figures = out[name]
                print(
                    f"  {name:<9} {figures['seconds']:>7.1f} s {out['rows'] / max(figures['seconds'], 1e-9):>12,.0f}"
                    f" rows/s   peak RSS {figures['peak_rss_mb']:>6,.0f} MB   (process wall {figures['wall_s']:.1f} s)"
                )
            wall = sum(out[name]["wall_s"] for name in STEPS)
            print(f"  all steps {total:>7.1f} s; with each process's start-up {wall:.1f} s", flush=True)
            score_rss.setdefault(partitions, 0)
            score_rss[partitions * 10_000_000 + clients] = out["score"]["peak_rss_mb"]
    for partitions in args.partitions:
        small, large = (score_rss.get(partitions * 10_000_000 + c) for c in (250_000, 1_000_000))
        if small and large:
            print(
                f"score step peak RSS, {partitions} partition(s): 1M {large:,.0f} MB / 250k {small:,.0f} MB"
                f" = {large / small:.2f}x (target <= 1.3x)"
            )


if __name__ == "__main__":
    main()
