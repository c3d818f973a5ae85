"""Numbers in the warehouse that no real load produces: infinities, and values beyond a documented bound.

A +inf payment amount (SQLite) or ``'Infinity'`` (PostgreSQL) turns eight payment features
infinite; a balance of 10^20 roubles skews every balance feature without breaking any type.
Both are a load error, not a client's behaviour, so each is a critical validation failure
that names the source table and column (not only the features derived from it), checked
over the rows the snapshot of the report date reads. The bounds are generous on purpose: a
flagged value is wrong beyond doubt. On PostgreSQL a NaN is flagged too (it sorts above every
number); SQLite stores NaN as NULL, which the features treat as missing.
"""

from __future__ import annotations

import datetime as dt
import logging
import math

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine

from rko_model import columns as col
from rko_model.common.dates import add_months
from rko_model.settings import Settings
from rko_model.warehouse.backends import backend_for
from rko_model.warehouse.query import read_frame

log = logging.getLogger(__name__)

#: The largest absolute value each numeric source column may hold (documented in docs/data_contract.md).
SOURCE_BOUNDS: dict[tuple[str, str], float] = {
    ("clients", "headcount"): 1e6,
    ("clients", "declared_revenue"): 1e13,
    ("account_monthly", "avg_balance"): 1e13,
    ("account_monthly", "turnover_in"): 1e13,
    ("account_monthly", "turnover_out"): 1e13,
    ("payments", "amount"): 1e12,
    ("digital_activity", "app_sessions"): 1e5,
    ("digital_activity", "web_sessions"): 1e5,
    ("digital_activity", "banner_views"): 1e6,
    ("digital_activity", "banner_clicks"): 1e6,
}


def bound_params(report_date: dt.date) -> dict[str, object]:
    """The bound parameters of ``sql/validation/source_values.sql``."""
    params: dict[str, object] = {
        "report_date": report_date,
        "window_start": add_months(report_date, -max(col.WINDOWS)),
    }
    params.update({f"bound_{table}_{column}": bound for (table, column), bound in SOURCE_BOUNDS.items()})
    return params


def source_value_failures(engine: Engine, settings: Settings, report_date: dt.date) -> list[str]:
    """One critical message per source column holding infinite or out-of-bound values in the report's window."""
    sql = backend_for(engine).load_sql(settings.sql_dir, "validation/source_values")
    found = read_frame(engine, sql, bound_params(report_date)).iloc[0]
    messages = []
    for (table, column), bound in SOURCE_BOUNDS.items():
        bad = int(found[f"{table}__{column}__bad_rows"] or 0)
        if bad:
            example = int(found[f"{table}__{column}__example_client"])
            messages.append(
                f"{table}.{column} holds {bad} infinite or impossible values (beyond ±{bound:.0e}, its documented "
                f"bound) in the rows {report_date.isoformat()}'s snapshot reads (e.g. client {example}): a load "
                "error in the source table; fix those rows, then run again"
            )
    return messages


def infinite_features(frame: pd.DataFrame) -> list[str]:
    """One critical message per numeric feature holding ±inf (whatever produced it)."""
    messages = []
    for name in col.NUMERIC_FEATURES:
        if name not in frame.columns:
            continue
        values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)
        infinite = int(np.isinf(values).sum())
        if infinite:
            messages.append(f"feature {name} holds {infinite} infinite values: a source column holds ±inf")
    return messages


def is_within_bound(table: str, column: str, value: float) -> bool:
    """Whether ``value`` may stand in ``table.column``: finite and within its documented bound."""
    return math.isfinite(value) and abs(value) <= SOURCE_BOUNDS[(table, column)]
