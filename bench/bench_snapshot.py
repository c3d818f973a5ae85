"""Snapshot bench: wall time and peak RSS of extracting one month's snapshot from PostgreSQL.

Usage: python bench/bench_snapshot.py [--clients 100000 1000000] [--url URL]
Reads the banks that bench_generator.py wrote (schema rko_bench_<clients>); generates one
first when a schema holds none. Target (issue 2): 1M clients in under 2 minutes, peak RSS
under 3 GB.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _common import DEFAULT_PG, child, schema_url


def run_snapshot(url: str) -> dict:
    import logging
    import time

    from rko_model.settings import Settings
    from rko_model.snapshot import extract_snapshot
    from rko_model.warehouse.engine import make_engine

    timings: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            timings.append(record.getMessage())

    logging.getLogger("rko_model.snapshot").addHandler(Collect())
    logging.getLogger("rko_model.snapshot").setLevel(logging.INFO)
    settings = Settings.from_env({"RKO_WAREHOUSE_URL": url})
    started = time.perf_counter()
    frame = extract_snapshot(make_engine(url), _latest(url, settings), settings)
    return {
        "rows": len(frame),
        "columns": frame.shape[1],
        "query_s": round(time.perf_counter() - started, 2),
        "log": timings,
    }


def _latest(url: str, settings):  # type: ignore[no-untyped-def]
    from rko_model.snapshot import data_end
    from rko_model.warehouse.engine import make_engine

    return data_end(make_engine(url), settings)


def has_bank(url: str) -> bool:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        return sa.inspect(engine).has_table("payments")
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--url", default=DEFAULT_PG)
    parser.add_argument("--verbose", action="store_true", help="print each query's progress line")
    args = parser.parse_args()
    from bench_generator import run_generate

    print(f"{'clients':>10} {'snapshot rows':>14} {'wall s':>8} {'rows/s':>10} {'peak RSS MB':>12}")
    for clients in args.clients:
        url = schema_url(args.url, f"rko_bench_{clients}")
        if not has_bank(url):
            print(f"  (generating a {clients:,d}-client bank first)", flush=True)
            child(run_generate, url, clients, 24)
        out = child(run_snapshot, url)
        print(
            f"{clients:>10,d} {out['rows']:>14,d} {out['wall_s']:>8.1f} {out['rows'] / out['wall_s']:>10,.0f} "
            f"{out['peak_rss_mb']:>12,.0f}",
            flush=True,
        )
        if args.verbose:
            for line in out["log"]:
                print("   " + line)


if __name__ == "__main__":
    main()
