"""``rko``: the command line over the same functions the Airflow DAGs call."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from sqlalchemy.engine import Engine

from rko_model.dates import add_months
from rko_model.errors import RkoError
from rko_model.settings import Settings

log = logging.getLogger("rko")


def _cmd_generate(args: argparse.Namespace, settings: Settings) -> int:
    from rko_model.synth.generator import generate
    from rko_model.synth.spec import BankSpec
    from rko_model.warehouse.bank_writer import write_bank
    from rko_model.warehouse.engine import make_engine

    spec = BankSpec(n_clients=args.clients, n_months=args.months, seed=args.seed, last_month=args.last_month)
    engine = make_engine(settings.warehouse_url)
    rows = write_bank(engine, generate(spec))
    print(
        f"synthetic bank ({spec.n_clients} clients x {spec.n_months} months, seed {spec.seed}) written to "
        f"{engine.url.render_as_string(hide_password=True)}"
    )
    for table, count in rows.items():
        print(f"  {table:<18} {count:>12,d} rows")
    return 0


def _resolve_date(value: str, engine: Engine, settings: Settings, back: int = 0) -> dt.date | str:
    """``latest`` means the latest complete month, moved ``back`` months; other values pass through."""
    from rko_model.errors import IncompleteDataError
    from rko_model.snapshot import data_end

    if value != "latest":
        return value
    end = data_end(engine, settings)
    if end is None:
        raise IncompleteDataError("the warehouse holds no months yet: run `rko generate` first")
    return add_months(end, -back)


def _cmd_snapshot(args: argparse.Namespace, settings: Settings) -> int:
    from rko_model.snapshot import extract_snapshot
    from rko_model.warehouse.engine import make_engine

    engine = make_engine(settings.warehouse_url)
    report_date = _resolve_date(args.report_date, engine, settings)
    frame = extract_snapshot(engine, report_date, settings)
    _write_csv(frame, args.out)
    print(
        f"snapshot {frame['report_date'].iloc[0].date() if len(frame) else report_date}: "
        f"{len(frame):,d} clients x {frame.shape[1]} columns -> {args.out}"
    )
    return 0


def _cmd_labels(args: argparse.Namespace, settings: Settings) -> int:
    from rko_model import columns as col
    from rko_model.labels import extract_labels
    from rko_model.warehouse.engine import make_engine

    engine = make_engine(settings.warehouse_url)
    report_date = _resolve_date(args.report_date, engine, settings, back=col.LABEL_HORIZON_MONTHS)
    frame = extract_labels(engine, report_date, settings)
    _write_csv(frame, args.out)
    print(
        f"labels {report_date}: {len(frame):,d} clients, {int(frame['target'].sum()):,d} opened RKO "
        f"({frame['target'].mean():.2%}) -> {args.out}"
    )
    return 0


def _write_csv(frame: pd.DataFrame, out: Path) -> None:
    """Write through a temporary file and rename: a failed run never leaves half a CSV."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    frame.to_csv(partial, index=False, date_format="%Y-%m-%d")
    partial.replace(out)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rko", description="RKO propensity scoring for SMB clients.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="write a synthetic bank into the warehouse (replaces it)")
    gen.add_argument("--clients", type=int, default=20_000)
    gen.add_argument("--months", type=int, default=24)
    gen.add_argument("--seed", type=int, default=42)
    gen.add_argument(
        "--last-month",
        type=dt.date.fromisoformat,
        default=dt.date(2026, 10, 31),
        help="last month end of the data (default 2026-10-31)",
    )
    gen.set_defaults(func=_cmd_generate)

    snap = sub.add_parser("snapshot", help="write the point-in-time snapshot of a report date to CSV")
    snap.add_argument("--report-date", required=True, help="a month end (YYYY-MM-DD) or 'latest'")
    snap.add_argument("--out", type=Path, required=True)
    snap.set_defaults(func=_cmd_snapshot)

    lab = sub.add_parser("labels", help="write the 3-month RKO labels of a report date to CSV")
    lab.add_argument("--report-date", required=True, help="a month end or 'latest' (latest labelled month)")
    lab.add_argument("--out", type=Path, required=True)
    lab.set_defaults(func=_cmd_labels)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        settings = Settings.from_env()
        return int(args.func(args, settings))
    except RkoError as exc:
        print(f"rko {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
