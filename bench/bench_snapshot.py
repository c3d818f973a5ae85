"""Snapshot bench: wall time and peak RSS of extracting one month's snapshot from PostgreSQL.

Usage: python bench/bench_snapshot.py [--clients 100000 1000000] [--url URL]
Reads the banks that bench_generator.py wrote (schema rko_bench_<clients>); generates one
first when a schema holds none. Target (issue 2): 1M clients in under 2 minutes, peak RSS
under 3 GB.

Feature marts (issue 16): builds the features mart of every month that lacks it, with the monthly
marts they need (the backfill), then builds the latest month as it closes: its marts are removed
first (committed and vacuumed), then its monthly marts and its features mart, composed of the
features of 3 and 6 months before, are built (the incremental monthly build, target under 30 s at
1M). Then reads the snapshot from the raw tables and from the features mart in the same run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _common import DEFAULT_PG, child, schema_url


def run_snapshot(url: str, source: str = "raw") -> dict:
    import logging
    import time

    from rko_model.settings import Settings
    from rko_model.stages.snapshot import extract_snapshot
    from rko_model.warehouse.engine import make_engine

    timings: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            timings.append(record.getMessage())

    logging.getLogger("rko_model.stages.snapshot").addHandler(Collect())
    logging.getLogger("rko_model.stages.snapshot").setLevel(logging.INFO)
    settings = Settings.from_env({"RKO_WAREHOUSE_URL": url, "RKO_FEATURE_SOURCE": source})
    started = time.perf_counter()
    frame = extract_snapshot(make_engine(url), _latest(url, settings), settings)
    return {
        "rows": len(frame),
        "columns": frame.shape[1],
        "query_s": round(time.perf_counter() - started, 2),
        "log": timings,
    }


def backfill_marts(url: str) -> dict:
    """Build the features mart of every month of the bank that lacks it, and the monthly marts they need."""
    from rko_model.settings import Settings
    from rko_model.stages.feature_source import feature_months
    from rko_model.stages.marts import build_months, months_between, raw_months
    from rko_model.warehouse import schema
    from rko_model.warehouse.engine import make_engine

    settings = Settings.from_env({"RKO_WAREHOUSE_URL": url})
    engine = make_engine(url)
    with engine.begin() as conn:  # a bank generated before the marts lacks the month index of digital_activity
        schema.create_indexes(conn)
    done = set(feature_months(engine, settings))
    months = [m for m in months_between(*raw_months(engine, settings)) if m not in done]
    built = build_months(engine, settings, months, rebuild_monthly=False) if months else []
    return {"months": len(built), "build_s": round(sum(b.seconds + b.feature_seconds for b in built), 1)}


def rebuild_latest_month(url: str) -> dict:
    """The monthly job: (re)build the latest month's marts alone, VACUUM (ANALYZE) included.

    Its monthly marts, then its features mart, composed of the features of 3 and 6 months before.
    """
    import time

    from _common import postgres_cpu_s

    from rko_model.settings import Settings
    from rko_model.stages.marts import build_months
    from rko_model.warehouse.engine import make_engine

    settings = Settings.from_env({"RKO_WAREHOUSE_URL": url})
    engine = make_engine(url)
    month = _latest(url, settings)
    _forget_month(engine, month)  # the month closes: nothing of it is built yet
    pg, started = postgres_cpu_s(), time.perf_counter()
    built = build_months(engine, settings, [month])[-1]
    pg_after = postgres_cpu_s()
    return {
        # PostgreSQL's CPU over the build, VACUUM included: the work that the build's wall time is bounded by
        "pg_cpu_s": round(pg_after - pg, 1) if pg is not None and pg_after is not None else None,
        "month": str(month),
        "clients": built.clients,
        "monthly_s": built.seconds,
        "features_s": built.feature_seconds,
        "build_s": round(built.seconds + built.feature_seconds, 2),
        "with_vacuum_s": round(time.perf_counter() - started, 1),
    }


def _forget_month(engine, month) -> None:  # type: ignore[no-untyped-def]
    """Remove ``month``'s monthly and features marts (committed, then vacuumed): as before it closed."""
    import sqlalchemy as sa

    from rko_model.settings import Settings
    from rko_model.stages.marts import analyze_marts, prepare_marts
    from rko_model.warehouse import schema

    prepare_marts(engine, Settings.from_env({}))  # tables of a newer version, where an older one built the marts
    with engine.begin() as conn:
        for table in schema.MART_TABLES:
            conn.execute(sa.delete(table).where(table.c.month_end == month))
    analyze_marts(engine)


def _latest(url: str, settings):  # type: ignore[no-untyped-def]
    from rko_model.stages.snapshot import data_end
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

    for clients in args.clients:
        url = schema_url(args.url, f"rko_bench_{clients}")
        if not has_bank(url):
            print(f"  (generating a {clients:,d}-client bank first)", flush=True)
            child(run_generate, url, clients, 24)
        backfill = child(backfill_marts, url)
        if backfill["months"]:
            print(
                f"{clients:,d} clients: marts backfilled, {backfill['months']} months in {backfill['build_s']:.1f} s "
                f"({backfill['build_s'] / backfill['months']:.1f} s a month); "
                f"peak RSS {backfill['peak_rss_mb']:,.0f} MB",
                flush=True,
            )
        month = child(rebuild_latest_month, url)
        print(
            f"{clients:,d} clients: one month's marts ({month['month']}, {month['clients']:,d} clients) built "
            f"incrementally in {month['build_s']:.1f} s (monthly marts {month['monthly_s']:.1f} s, features mart "
            f"{month['features_s']:.1f} s), {month['with_vacuum_s']:.1f} s with VACUUM (ANALYZE); "
            f"peak RSS {month['peak_rss_mb']:,.0f} MB",
            flush=True,
        )
        print(f"{'clients':>10} {'source':>7} {'snapshot rows':>14} {'wall s':>8} {'rows/s':>10} {'peak RSS MB':>12}")
        timings = {}
        for source in ("raw", "marts"):
            out = child(run_snapshot, url, source)
            timings[source] = out["wall_s"]
            print(
                f"{clients:>10,d} {source:>7} {out['rows']:>14,d} {out['wall_s']:>8.1f} "
                f"{out['rows'] / out['wall_s']:>10,.0f} {out['peak_rss_mb']:>12,.0f}",
                flush=True,
            )
            if args.verbose:
                for line in out["log"]:
                    print("   " + line)
        print(f"  snapshot from the marts: {timings['raw'] / timings['marts']:.1f}x the raw path, same run", flush=True)


if __name__ == "__main__":
    main()
