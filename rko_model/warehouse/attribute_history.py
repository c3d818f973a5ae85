"""The contract check of the client attribute history (``client_attributes``) at a report date.

Eligibility and the profile features are read from the attribute row valid at the report
date, so the history must hold exactly one row per client and day:

- **overlapping** intervals (two rows valid on one day) would put a client in a snapshot
  twice, with two profiles: a critical failure;
- **gaps** (days without a row) leave the client out of every snapshot dated in them: a
  warning, since a bank's history may legitimately start late or pause;
- clients **without a row at the report date** (registered and not liquidated) are left out
  of that month: a warning with their count;
- rows of ``clients`` or ``client_attributes`` **without a client_id** match nothing and
  would vanish from every snapshot unseen: a critical failure.

The checks read the table (an index-only pass on PostgreSQL, through the contract's index on
``(client_id, valid_from)``), so the monthly run does them in the validation step, beside the
snapshot's own checks, rather than before every snapshot.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import pandas as pd
from sqlalchemy.engine import Engine

from rko_model.settings import Settings
from rko_model.warehouse.backends import backend_for
from rko_model.warehouse.query import read_frame

log = logging.getLogger(__name__)

DOC = "docs/data_contract.md"

_WORDS = {
    "overlap": "start before the client's previous row ends (two rows valid on one day)",
    "empty": "end on or before the day they start",
    "gap": "start after the client's previous row ends (days without attributes)",
}


@dataclass(frozen=True)
class HistoryCheck:
    """What the check found: critical failures stop a run, warnings are reported."""

    report_date: dt.date
    critical: tuple[str, ...]
    warnings: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.critical


def check_attribute_history(engine: Engine, settings: Settings, report_date: dt.date) -> HistoryCheck:
    """Overlaps and empty intervals (critical), gaps and clients without a row at ``report_date`` (warnings)."""
    backend = backend_for(engine)
    kinds = {"problem": "str", "rows_found": "int", "clients": "int", "example_client": "int"}
    found = read_frame(engine, backend.load_sql(settings.sql_dir, "contract/attribute_intervals"), {}, kinds)
    critical, warnings = [], []
    nulls = read_frame(
        engine, backend.load_sql(settings.sql_dir, "contract/null_ids"), {}, {"source": "str", "rows_found": "int"}
    )
    for row in nulls.itertuples(index=False):
        if int(row.rows_found):
            critical.append(
                f"{row.source}: {int(row.rows_found):,d} rows without a client_id: the {row.source} view returns null "
                f"keys, which match no other table (see {DOC})"
            )
    for row in found.itertuples(index=False):
        text = (
            f"client_attributes: {int(row.rows_found):,d} rows of {int(row.clients):,d} clients {_WORDS[row.problem]}, "
            f"e.g. client {int(row.example_client)}"
        )
        if row.problem == "gap":
            warnings.append(f"{text}; such clients are left out of the months in the gaps (see {DOC})")
        else:
            critical.append(f"{text}; fix the history or its view so one row holds on each day (see {DOC})")
    missing = read_frame(
        engine,
        backend.load_sql(settings.sql_dir, "contract/attribute_missing"),
        {"report_date": report_date},
        {"clients": "int"},
    )
    count = int(missing["clients"].iloc[0]) if len(missing) else 0
    if count:
        example = missing["example_client"].iloc[0]
        warnings.append(
            f"client_attributes: {count:,d} clients registered and not liquidated at {report_date.isoformat()} have "
            f"no attribute row valid at it, e.g. client {int(example) if not pd.isna(example) else '?'}; they are "
            f"left out of its snapshot (see {DOC})"
        )
    check = HistoryCheck(report_date, tuple(critical), tuple(warnings))
    for message in (*check.critical, *check.warnings):
        log.warning("%s", message)
    return check
