"""Scoring-DAG bench: the monthly steps end to end on PostgreSQL, against two baselines in the same run.

For 100k and 1M clients (the banks of bench_generator.py, schema rko_bench_<clients>):
- the DAG's steps as its tasks run them (extract, validate, score, publish, record; Airflow's
  own task overhead excluded): wall time, rows/s, peak RSS of the process;
- the snapshot query alone: the same SQL through COPY (query) TO a null sink;
- a naive pandas pipeline on the same month: read_sql of the same queries, predict_proba,
  to_sql(method="multi"); and the same pipeline on the portable join-and-group SQL (the
  sql/snapshot/<name>.sql files the other engines run), as a first draft would write it.

Targets (issue 4, 1M clients): everything but the snapshot query under 60 s; publishing at
least 400k rows/s; at least 3x faster than the naive pipeline; peak RSS under 3 GB.

Feature marts (issue 16): the DAG's steps run twice in the same run, reading the marts
(RKO_FEATURE_SOURCE=marts) and the raw tables (raw); the month's marts are built incrementally
first (the rko_feature_marts DAG's work). Targets at 1M: all steps reading the marts under 10 s,
at least 3x the naive pipeline on the same raw SQL and 4x the one on the portable SQL, one
month's marts under 30 s, peak RSS under 3 GB.
Usage: python bench/bench_scoring_dag.py [--clients 100000 1000000]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _common import DEFAULT_PG, child, schema_url


def _settings(url: str, folder: str, source: str = "auto"):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from rko_model.settings import Settings

    settings = Settings.from_env({"RKO_DATA_DIR": folder, "RKO_FEATURE_SOURCE": source})
    return replace(settings, warehouse_url=url, staging_url=url)


def prepare_model(url: str, folder: str) -> dict:
    """A champion for the bench: CatBoost multimodal on two months of the 100k bank."""
    from rko_model.model.registry import Registry
    from rko_model.model.train import TrainParams
    from rko_model.runs.training import train_and_report
    from rko_model.warehouse.engine import make_engine

    settings = _settings(url, folder)
    registry = Registry.of(settings)
    if registry.champion_version():
        return {"version": registry.champion_version()}
    run = train_and_report(
        make_engine(url),
        settings,
        n_train=2,
        n_test=1,
        params=TrainParams(iterations=500, early_stopping_rounds=500, negative_share=0.5),
        ablation=False,
    )
    registry.promote(run.run_id)
    return {"version": run.run_id}


def dag_steps(url: str, folder: str, source: str = "auto") -> dict:
    """The monthly steps one after the other, each with its own seconds and the CPU it cost.

    ``<step>_cpu`` is this process's CPU seconds in the step, ``<step>_pg_cpu`` the local
    PostgreSQL server's (None when the server is not on this machine).
    """
    import time

    from _common import postgres_cpu_s, process_cpu_s

    from rko_model.runs import monthly
    from rko_model.stages.snapshot import data_end
    from rko_model.warehouse.engine import make_engine

    settings = _settings(url, folder, source)
    report_date = data_end(make_engine(url), settings)
    run_id = f"bench__{time.time():.0f}"
    out: dict = {"report_date": str(report_date)}

    def measured(name: str, run):  # type: ignore[no-untyped-def]
        cpu, pg, started = process_cpu_s(), postgres_cpu_s(), time.perf_counter()
        ref = run()
        pg_after = postgres_cpu_s()
        out[name] = round(time.perf_counter() - started, 2) if name == "record" else ref["seconds"]
        out[f"{name}_cpu"] = round(process_cpu_s() - cpu, 2)
        out[f"{name}_pg_cpu"] = round(pg_after - pg, 2) if pg is not None and pg_after is not None else None
        return ref

    planned = monthly.plan(settings)[0]
    e = measured("extract", lambda: monthly.extract(settings, report_date, run_id))
    v = measured("validate", lambda: monthly.validate(settings, report_date, run_id, e))
    s = measured("score", lambda: monthly.score(settings, report_date, run_id, v, planned["model_version"]))
    p = measured("publish", lambda: monthly.publish(settings, report_date, run_id, [s], validated=[v]))
    measured(
        "record",
        lambda: monthly.record(settings, report_date, run_id, extracted=[e], validated=[v], scored=[s], published=p),
    )
    out["rows"] = e["rows"]
    return out


def snapshot_query_only(url: str) -> dict:
    """The snapshot's SQL through COPY (query) TO a null sink: the database's share of extract."""
    import os
    import time

    from rko_model.settings import Settings
    from rko_model.stages.snapshot import SOURCE_QUERIES, data_end, eligible_clients
    from rko_model.warehouse.backends._postgresql import bind_postgres
    from rko_model.warehouse.engine import make_engine
    from rko_model.warehouse.sqlfiles import load_sql

    settings = Settings.from_env({"RKO_WAREHOUSE_URL": url})
    engine = make_engine(url)
    report_date = data_end(engine, settings)
    started = time.perf_counter()
    with eligible_clients(engine, report_date, settings) as (conn, params), open(os.devnull, "wb") as sink:
        cursor = conn.connection.dbapi_connection.cursor()
        for name in ("snapshot/eligible_profile", *SOURCE_QUERIES):
            bound = bind_postgres(cursor, conn.dialect, load_sql(settings.sql_dir, name, "postgresql"), params)
            cursor.copy_expert(f"COPY ({bound}) TO STDOUT WITH (FORMAT csv)", sink)
    return {"snapshot_query_s": round(time.perf_counter() - started, 2)}


def naive(url: str, folder: str, sql_flavour: str = "postgresql") -> dict:
    """read_sql of the snapshot queries, predict_proba, to_sql(method='multi'): what a first draft does.

    ``sql_flavour`` "postgresql" reads the same SQL files as the DAG; "portable" reads the
    join-and-group files that the other engines run (``sql/snapshot/<name>.sql``), the SQL a
    first draft would write.
    """
    import time

    import pandas as pd
    from _common import postgres_cpu_s, process_cpu_s

    from rko_model.model.registry import Registry
    from rko_model.stages.snapshot import SOURCE_QUERIES, assemble_snapshot, data_end, eligible_clients
    from rko_model.warehouse.engine import make_engine
    from rko_model.warehouse.query import statement, used_params
    from rko_model.warehouse.sqlfiles import load_sql

    settings = _settings(url, folder, "raw")
    engine = make_engine(url)
    report_date = data_end(engine, settings)
    cpu, pg = process_cpu_s(), postgres_cpu_s()
    started = time.perf_counter()
    with eligible_clients(engine, report_date, settings) as (conn, params):
        frames = []
        for name in ("snapshot/eligible_profile", *SOURCE_QUERIES):
            sql = load_sql(settings.sql_dir, name, sql_flavour)
            values = used_params(sql, params)
            frames.append(pd.read_sql(statement(sql, values), conn, params=values))
    read_s = time.perf_counter() - started
    eligible = frames[0]
    for c in ("legal_form", "okved_code", "okved_class", "region_code"):
        eligible[c] = eligible[c].astype("str")
    frame = assemble_snapshot(eligible, frames[1:], report_date)
    model = Registry.of(settings).champion()
    t = time.perf_counter()
    scores = model.score(frame)
    score_s = time.perf_counter() - t
    out = pd.DataFrame({"report_date": report_date, "client_id": frame["client_id"], "score": scores})
    t = time.perf_counter()
    out.to_sql(
        "naive_scores", engine, schema="mo_staging", if_exists="replace", index=False, method="multi", chunksize=10_000
    )
    write_s = time.perf_counter() - t
    pg_after = postgres_cpu_s()
    return {
        "cpu_s": round(process_cpu_s() - cpu, 1),
        "pg_cpu_s": round(pg_after - pg, 1) if pg is not None and pg_after is not None else None,
        "rows": len(out),
        "read_s": round(read_s, 1),
        "score_s": round(score_s, 1),
        "to_sql_s": round(write_s, 1),
        "naive_s": round(time.perf_counter() - started, 1),
    }


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def main() -> None:
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--url", default=DEFAULT_PG)
    args = parser.parse_args()
    from bench_generator import run_generate
    from bench_snapshot import backfill_marts, has_bank, rebuild_latest_month

    folder = str(Path(tempfile.gettempdir()) / "rko-bench-work")  # shared: the champion is trained once
    for clients in sorted(args.clients):
        url = schema_url(args.url, f"rko_bench_{clients}")
        if not has_bank(url):
            child(run_generate, url, clients, 24)
        if clients == min(args.clients):
            model = child(prepare_model, url, folder)
            print(f"champion {model['version']} trained on the {clients:,d}-client bank", flush=True)
        child(backfill_marts, url)  # the months before: the marts a snapshot's window needs
        month = child(rebuild_latest_month, url)  # the month that closed: what rko_feature_marts does
        steps = child(dag_steps, url, folder, "marts")
        raw = child(dag_steps, url, folder, "raw")
        query = child(snapshot_query_only, url)
        baseline = child(naive, url, folder)
        portable = child(naive, url, folder, "portable")
        rows = steps["rows"]
        names = ("extract", "validate", "score", "publish", "record")
        total, raw_total = sum(steps[k] for k in names), sum(raw[k] for k in names)
        print(f"\n{clients:,d} clients, report date {steps['report_date']}: {rows:,d} eligible clients scored")
        print(
            f"  the month's marts built incrementally: {month['build_s']:.1f} s (monthly {month['monthly_s']:.1f} s, "
            f"features {month['features_s']:.1f} s; {month['with_vacuum_s']:.1f} s with "
            f"VACUUM (ANALYZE)), peak RSS {month['peak_rss_mb']:,.0f} MB; PostgreSQL's CPU "
            f"{_figure(month.get('pg_cpu_s'))} s, VACUUM included"
        )
        print(f"  {'step':<9} {'marts s':>8} {'rows/s':>12} {'CPU s':>7} {'PG CPU s':>9} {'raw s':>8}")
        for k in names:
            print(
                f"  {k:<9} {steps[k]:>8.1f} {rows / max(steps[k], 1e-9):>12,.0f} {steps[f'{k}_cpu']:>7.1f} "
                f"{_figure(steps[f'{k}_pg_cpu']):>9} {raw[k]:>8.1f}"
            )
        cpu = sum(steps[f"{k}_cpu"] for k in names)
        pg_cpu = sum(steps[f"{k}_pg_cpu"] or 0.0 for k in names)
        cores = os.cpu_count() or 1
        print(
            f"  CPU of the steps reading the marts: {cpu:.1f} s in the process + {pg_cpu:.1f} s in PostgreSQL = "
            f"{cpu + pg_cpu:.1f} s; on this machine's {cores} cores no schedule of that work ends in under "
            f"{(cpu + pg_cpu) / cores:.1f} s"
        )
        print(
            f"  all steps {total:>8.1f} s reading the marts (peak RSS {steps['peak_rss_mb']:,.0f} MB); "
            f"{raw_total:.1f} s reading the raw tables (peak RSS {raw['peak_rss_mb']:,.0f} MB): "
            f"{raw_total / total:.1f}x"
        )
        print(f"  raw snapshot query alone, sequential (COPY to a null sink): {query['snapshot_query_s']:.1f} s")
        print(
            f"  naive pandas pipeline on the same raw SQL: {baseline['naive_s']:.1f} s "
            f"(read_sql {baseline['read_s']:.1f}, predict {baseline['score_s']:.1f}, "
            f"to_sql {baseline['to_sql_s']:.1f}; CPU {baseline['cpu_s']:.1f} s + PostgreSQL "
            f"{_figure(baseline['pg_cpu_s'])} s); peak RSS "
            f"{baseline['peak_rss_mb']:,.0f} MB; speed-up {baseline['naive_s'] / total:.1f}x reading the marts, "
            f"{baseline['naive_s'] / raw_total:.1f}x reading the raw tables",
            flush=True,
        )
        print(
            f"  naive pipeline on the portable join-and-group SQL: {portable['naive_s']:.1f} s (read_sql "
            f"{portable['read_s']:.1f}, predict {portable['score_s']:.1f}, to_sql {portable['to_sql_s']:.1f}); "
            f"speed-up {portable['naive_s'] / total:.1f}x reading the marts, "
            f"{portable['naive_s'] / raw_total:.1f}x reading the raw tables",
            flush=True,
        )


if __name__ == "__main__":
    main()
