"""Count the client-months whose eligibility differs under a current-values-only reading of the bank.

Usage: python scripts/eligibility_leak.py [--out docs/results/eligibility_leak_history_100k.json]
Reads the bank of the settings (RKO_WAREHOUSE_URL), every complete month end from the first
with 12 months of history; prints one line per month and the totals; writes them as JSON.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from rko_model.common.dates import add_months, month_ends
from rko_model.settings import Settings
from rko_model.stages.eligibility_leak import eligibility_changes
from rko_model.stages.snapshot import data_span
from rko_model.warehouse.engine import make_engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--history-months", type=int, default=12, help="months skipped at the start of the data")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    engine = make_engine(settings.warehouse_url)
    span = data_span(engine, settings)
    if span is None:
        raise SystemExit("the warehouse holds no months: run `rko generate` first")
    first = add_months(span[0], args.history_months - 1)
    months = [m for m in month_ends(span[1], 120) if m >= first]
    frame = eligibility_changes(engine, settings, months)
    frame["changed_share"] = (frame["changed"] / frame["eligible_history"]).round(4)
    print(frame.to_string(index=False))
    totals = {
        "months": len(frame),
        "client_months_eligible_history": int(frame["eligible_history"].sum()),
        "client_months_eligible_current_values": int(frame["eligible_current_values"].sum()),
        "client_months_only_history": int(frame["only_history"].sum()),
        "client_months_only_current_values": int(frame["only_current_values"].sum()),
        "client_months_changed": int(frame["changed"].sum()),
    }
    totals["changed_share"] = round(totals["client_months_changed"] / totals["client_months_eligible_history"], 4)
    print(json.dumps(totals, indent=1))
    if args.out:
        document = {"totals": totals, "months": json.loads(frame.to_json(orient="records", date_format="iso"))}
        args.out.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
