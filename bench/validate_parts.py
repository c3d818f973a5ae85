"""Where the validate step's time goes: each of its parts timed on its own, one after another.

Usage: python bench/validate_parts.py [--clients 1000000] [--url postgresql+psycopg2://...]

On the bench bank (schema rko_bench_<clients>, bench_generator.py) the month is extracted once,
then each part of ``rko_model.runs.monthly.validate`` runs alone: the clients' facts as of the
report date, the attribute history's check (issue 13), late events, the previous month's rows,
the source values' bounds check (issue 12), the import of GX, reading the snapshot, and the GX
suite itself. The step runs the database parts in threads beside the snapshot read and the
suite, so it takes about the slowest of them plus the suite, not their sum; the parts say which
change made it longer.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _common import DEFAULT_PG, child, schema_url


def parts(url: str, folder: str) -> dict:
    from bench_scoring_dag import _settings

    from rko_model.common.exclusions import load_exclusions
    from rko_model.runs import monthly
    from rko_model.stages.late_events import late_events
    from rko_model.stages.snapshot import data_end, extract_client_facts
    from rko_model.stages.source_values import source_value_failures
    from rko_model.stages.validation import import_gx, validate_snapshot
    from rko_model.storage import artifacts
    from rko_model.warehouse.attribute_history import check_attribute_history
    from rko_model.warehouse.engine import make_engine

    settings = _settings(url, folder)
    engine = make_engine(url)
    report_date = data_end(engine, settings)
    extracted = monthly.extract(settings, report_date, f"validate_parts__{time.time():.0f}")
    path = extracted["snapshot_path"]
    ids = artifacts.read_arrow(path, columns=["client_id"]).column(0).to_numpy(zero_copy_only=False)
    out: dict = {"rows": extracted["rows"], "extract": extracted["seconds"]}

    def timed(name, func, *args):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        value = func(*args)
        out[name] = round(time.perf_counter() - started, 2)
        return value

    facts = timed("client_facts", extract_client_facts, engine, report_date, settings, ids)
    timed("attribute_history", check_attribute_history, engine, settings, report_date)
    timed("late_events", late_events, engine, settings, report_date)
    previous = timed("previous_rows", monthly.previous_rows, settings, report_date)
    timed("source_values", source_value_failures, engine, settings, report_date)
    timed("import_gx", import_gx)
    frame = timed("read_snapshot", artifacts.read_parquet, path)
    with tempfile.TemporaryDirectory() as results:
        timed(
            "gx_suite",
            lambda: validate_snapshot(
                frame,
                facts,
                load_exclusions(settings.okved_exclusions_path),
                report_date.isoformat(),
                previous_rows=previous,
                artifact_dir=Path(results),
            ),
        )
    started = time.perf_counter()
    monthly.validate(settings, report_date, f"validate_parts__{time.time():.0f}", extracted)
    out["validate_step"] = round(time.perf_counter() - started, 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=1_000_000)
    parser.add_argument("--url", default=DEFAULT_PG)
    parser.add_argument("--folder", default=str(Path(tempfile.gettempdir()) / "rko-validate-parts"))
    args = parser.parse_args()
    url = schema_url(args.url, f"rko_bench_{args.clients}")
    Path(args.folder).mkdir(parents=True, exist_ok=True)
    print(json.dumps(child(parts, url, args.folder)), flush=True)


if __name__ == "__main__":
    main()
