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
from rko_model.stages.feature_source import raw_months, reads_features_mart, window_months
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


def source_bounds() -> dict[str, float]:
    """The bounds as bound parameters (``bound_<table>_<column>``), for the queries that count values beyond them."""
    return {f"bound_{table}_{column}": bound for (table, column), bound in SOURCE_BOUNDS.items()}


def bound_params(report_date: dt.date) -> dict[str, object]:
    """The bound parameters of ``sql/validation/source_values.sql``."""
    return {
        "report_date": report_date,
        "window_start": add_months(report_date, -max(col.WINDOWS)),
        **source_bounds(),
    }


def found_values(engine: Engine, settings: Settings, report_date: dt.date) -> pd.Series:
    """Per source column, the rows holding values beyond its bound in the report's window, and one client holding one.

    Where the snapshot reads the features mart (its report month's is built), the monthly
    tables' counts come from those the marts build stored per month (``sql/marts/source_values.sql``)
    and only the clients table is read: no rescan of 12 months of raw rows. Where a month of the
    window holds no counts (built by an earlier version), the raw tables are read after all.
    """
    backend, params = backend_for(engine), bound_params(report_date)
    if reads_features_mart(engine, settings, report_date):
        stored = read_frame(engine, backend.load_sql(settings.sql_dir, "marts/source_values"), params).iloc[0]
        if int(stored["months"]) >= _months_with_rows(engine, settings, report_date):
            clients = read_frame(engine, backend.load_sql(settings.sql_dir, "validation/source_values_clients"), params)
            return pd.concat([clients.iloc[0], stored.drop("months")])
        log.info(
            "source values of %s: a month of the window holds no stored counts; reading the raw tables", report_date
        )
    return read_frame(engine, backend.load_sql(settings.sql_dir, "validation/source_values"), params).iloc[0]


def _months_with_rows(engine: Engine, settings: Settings, report_date: dt.date) -> int:
    """How many months of ``report_date``'s window hold raw rows, so must hold stored counts."""
    first, _ = raw_months(engine, settings)
    return sum(m >= first for m in window_months(report_date))


def source_value_failures(engine: Engine, settings: Settings, report_date: dt.date) -> list[str]:
    """One critical message per source column holding infinite or out-of-bound values in the report's window."""
    found = found_values(engine, settings, report_date)
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
