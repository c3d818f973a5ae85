"""Generator bench: wall time, rows/s and peak RSS of `rko generate` into PostgreSQL.

Usage: python bench/bench_generator.py [--clients 100000 1000000] [--months 24] [--url URL]
Target (issue 2): 1M clients x 24 months in under 15 minutes on the 2-core machine.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _common import DEFAULT_PG, child, schema_url


def run_generate(url: str, clients: int, months: int) -> dict:
    from rko_model.synth.generator import generate
    from rko_model.synth.spec import BankSpec
    from rko_model.warehouse.bank_writer import write_bank
    from rko_model.warehouse.engine import make_engine

    rows = write_bank(make_engine(url), generate(BankSpec(n_clients=clients, n_months=months, seed=42)))
    return {"rows": sum(rows.values()), "tables": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--url", default=DEFAULT_PG)
    args = parser.parse_args()
    print(f"{'clients':>10} {'months':>6} {'rows':>12} {'wall s':>8} {'rows/s':>10} {'peak RSS MB':>12}")
    for clients in args.clients:
        url = schema_url(args.url, f"rko_bench_{clients}")
        out = child(run_generate, url, clients, args.months)
        rate = out["rows"] / out["wall_s"]
        print(
            f"{clients:>10,d} {args.months:>6} {out['rows']:>12,d} {out['wall_s']:>8.1f} {rate:>10,.0f} "
            f"{out['peak_rss_mb']:>12,.0f}",
            flush=True,
        )
        print("   " + ", ".join(f"{k}={v:,d}" for k, v in out["tables"].items()), flush=True)


if __name__ == "__main__":
    main()
