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
Usage: python bench/bench_scoring_dag.py [--clients 100000 1000000] [--skip-naive-above N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _common import DEFAULT_PG, child, schema_url


def _settings(url: str, folder: str):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from rko_model.settings import Settings

    return replace(Settings.from_env({"RKO_DATA_DIR": folder}), warehouse_url=url, staging_url=url)


def prepare_model(url: str, folder: str) -> dict:
    """A champion for the bench: CatBoost multimodal on two months of the 100k bank."""
    from rko_model.model.registry import Registry
    from rko_model.model.train import TrainParams
    from rko_model.training import train_and_report
    from rko_model.warehouse.engine import make_engine

    settings = _settings(url, folder)
    registry = Registry(settings.registry_dir)
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


def dag_steps(url: str, folder: str) -> dict:
    import time

    from rko_model import monthly
    from rko_model.snapshot import data_end
    from rko_model.warehouse.engine import make_engine

    settings = _settings(url, folder)
    report_date = data_end(make_engine(url), settings)
    run_id = f"bench__{time.time():.0f}"
    out: dict = {"report_date": str(report_date)}
    planned = monthly.plan(settings)[0]
    e = monthly.extract(settings, report_date, run_id)
    v = monthly.validate(settings, report_date, run_id, e)
    s = monthly.score(settings, report_date, run_id, v, planned["model_version"])
    p = monthly.publish(settings, report_date, run_id, [s])
    t = time.perf_counter()
    monthly.record(settings, report_date, run_id, extracted=[e], validated=[v], scored=[s], published=p)
    out.update(
        rows=e["rows"],
        extract=e["seconds"],
        validate=v["seconds"],
        score=s["seconds"],
        publish=p["seconds"],
        record=round(time.perf_counter() - t, 2),
    )
    return out


def snapshot_query_only(url: str) -> dict:
    """The snapshot's SQL through COPY (query) TO a null sink: the database's share of extract."""
    import os
    import time

    from rko_model.settings import Settings
    from rko_model.snapshot import SOURCE_QUERIES, data_end, eligible_clients
    from rko_model.warehouse.engine import make_engine
    from rko_model.warehouse.query import bind_postgres
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

    from rko_model.model.registry import Registry
    from rko_model.snapshot import SOURCE_QUERIES, assemble_snapshot, data_end, eligible_clients
    from rko_model.warehouse.engine import make_engine
    from rko_model.warehouse.query import statement, used_params
    from rko_model.warehouse.sqlfiles import load_sql

    settings = _settings(url, folder)
    engine = make_engine(url)
    report_date = data_end(engine, settings)
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
    model = Registry(settings.registry_dir).champion()
    t = time.perf_counter()
    scores = model.score(frame)
    score_s = time.perf_counter() - t
    out = pd.DataFrame({"report_date": report_date, "client_id": frame["client_id"], "score": scores})
    t = time.perf_counter()
    out.to_sql(
        "naive_scores", engine, schema="mo_staging", if_exists="replace", index=False, method="multi", chunksize=10_000
    )
    write_s = time.perf_counter() - t
    return {
        "rows": len(out),
        "read_s": round(read_s, 1),
        "score_s": round(score_s, 1),
        "to_sql_s": round(write_s, 1),
        "naive_s": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--url", default=DEFAULT_PG)
    args = parser.parse_args()
    from bench_generator import run_generate
    from bench_snapshot import has_bank

    folder = str(Path(tempfile.gettempdir()) / "rko-bench-work")  # shared: the champion is trained once
    for clients in sorted(args.clients):
        url = schema_url(args.url, f"rko_bench_{clients}")
        if not has_bank(url):
            child(run_generate, url, clients, 24)
        if clients == min(args.clients):
            model = child(prepare_model, url, folder)
            print(f"champion {model['version']} trained on the {clients:,d}-client bank", flush=True)
        steps = child(dag_steps, url, folder)
        query = child(snapshot_query_only, url)
        baseline = child(naive, url, folder)
        portable = child(naive, url, folder, "portable")
        rows = steps["rows"]
        total = sum(steps[k] for k in ("extract", "validate", "score", "publish", "record"))
        print(f"\n{clients:,d} clients, report date {steps['report_date']}: {rows:,d} eligible clients scored")
        for k in ("extract", "validate", "score", "publish", "record"):
            print(f"  {k:<9} {steps[k]:>7.1f} s  {rows / max(steps[k], 1e-9):>12,.0f} rows/s")
        print(f"  all steps {total:>7.1f} s, peak RSS {steps['peak_rss_mb']:,.0f} MB")
        print(
            f"  snapshot query alone, sequential (COPY to a null sink): {query['snapshot_query_s']:.1f} s; "
            "extract reads two halves of the clients on two connections; "
            f"steps after extract: {total - steps['extract']:.1f} s"
        )
        print(
            f"  naive pandas pipeline: {baseline['naive_s']:.1f} s (read_sql {baseline['read_s']:.1f}, "
            f"predict {baseline['score_s']:.1f}, to_sql {baseline['to_sql_s']:.1f}); peak RSS "
            f"{baseline['peak_rss_mb']:,.0f} MB; speed-up {baseline['naive_s'] / total:.1f}x",
            flush=True,
        )
        print(
            f"  naive pipeline on the portable join-and-group SQL: {portable['naive_s']:.1f} s (read_sql "
            f"{portable['read_s']:.1f}, predict {portable['score_s']:.1f}, to_sql {portable['to_sql_s']:.1f}); "
            f"speed-up {portable['naive_s'] / total:.1f}x",
            flush=True,
        )


if __name__ == "__main__":
    main()
