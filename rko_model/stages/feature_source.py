"""Which SQL a snapshot reads its features with: the monthly feature marts or the raw tables.

The raw-table SQL (``sql/snapshot/``) rescans 12 months of payments, account months and
digital activity per client; the marts (``sql/marts/``, built by :mod:`rko_model.stages.marts`) hold
each month's per-client aggregates once, and a snapshot sums a few monthly rows per client.
Both give the same snapshot, feature for feature (tests/test_marts.py). The marts are read
only when every month of the snapshot's 12-month window is built: a month that is not (never
built, or being rebuilt) would silently drop its rows from the features. Months before the
first month of any raw row hold nothing to build, so they count as covered.
"""

from __future__ import annotations

import datetime as dt
import logging

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from rko_model import columns as col
from rko_model.common.dates import month_end, month_ends
from rko_model.errors import IncompleteDataError, WarehouseError
from rko_model.settings import Settings
from rko_model.warehouse.backends import backend_for
from rko_model.warehouse.query import read_frame
from rko_model.warehouse.schema import mart_months

log = logging.getLogger(__name__)

#: SQL files of the feature sources on the raw tables, merged onto the eligible clients in this order.
RAW_SOURCE_QUERIES = (
    "snapshot/account",
    "snapshot/payments",
    "snapshot/payment_text",
    "snapshot/digital",
    "snapshot/products",
)

#: The same features from the marts: account, payments and digital summed from one monthly row,
#: the distinct counterparties and the payment text from their own marts; products stay raw
#: (a client's product events are few, and they are read as of the report date, not by month).
MART_SOURCE_QUERIES = (
    "marts/snapshot_activity",
    "marts/snapshot_counterparties",
    "marts/snapshot_payment_text",
    "snapshot/products",
)

#: Months a snapshot's features reach back (the longest window), all of which the marts must hold.
WINDOW_MONTHS = max(col.WINDOWS)


def window_months(report_date: dt.date) -> list[dt.date]:
    """The month ends whose rows a snapshot of ``report_date`` reads, oldest first."""
    return month_ends(report_date, WINDOW_MONTHS)


def built_months(engine: Engine | Connection, settings: Settings) -> list[dt.date]:
    """The months whose marts are built (none when the warehouse has no marts)."""
    try:
        if not sa.inspect(engine).has_table(mart_months.name):
            return []
    except SQLAlchemyError as exc:
        raise WarehouseError(f"could not read the warehouse's catalogue: {exc}") from exc
    frame = read_frame(engine, backend_for(engine).load_sql(settings.sql_dir, "marts/built_months"), {})
    return [dt.date.fromisoformat(str(v)[:10]) for v in frame["month_end"]]


def raw_months(engine: Engine | Connection, settings: Settings) -> tuple[dt.date, dt.date]:
    """The first month with any raw row and the latest complete month: the months a full build covers."""
    kinds = {c: "date" for c in ("account_start", "account_end", "payments_start", "digital_start")}
    frame = read_frame(engine, backend_for(engine).load_sql(settings.sql_dir, "marts/raw_span"), {}, kinds)
    row = frame.iloc[0]
    if pd.isna(row["account_end"]):
        raise IncompleteDataError("the warehouse holds no account months: generate or load data first")
    starts = [row[c] for c in ("account_start", "payments_start", "digital_start") if not pd.isna(row[c])]
    first = month_end(min(pd.Timestamp(s) for s in starts).date())
    return first, pd.Timestamp(row["account_end"]).date()


def missing_months(engine: Engine | Connection, settings: Settings, report_date: dt.date) -> list[dt.date]:
    """The months of ``report_date``'s window whose marts are not built (and that hold raw rows to build)."""
    built = set(built_months(engine, settings))
    missing = [m for m in window_months(report_date) if m not in built]
    if missing and built:
        first, _ = raw_months(engine, settings)
        missing = [m for m in missing if m >= first]
    return missing


def source_queries(engine: Engine, settings: Settings, report_date: dt.date) -> tuple[str, ...]:
    """The feature SQL files for a snapshot of ``report_date``, by the setting ``RKO_FEATURE_SOURCE``.

    ``auto`` reads the marts where they cover the window and the raw tables elsewhere;
    ``marts`` refuses a window the marts do not cover; ``raw`` never reads the marts.
    """
    if settings.feature_source == "raw":
        return RAW_SOURCE_QUERIES
    missing = missing_months(engine, settings, report_date)
    if not missing:
        log.info("snapshot %s: features from the monthly marts", report_date)
        return MART_SOURCE_QUERIES
    if settings.feature_source == "marts":
        raise IncompleteDataError(
            f"RKO_FEATURE_SOURCE=marts, but the marts of {len(missing)} month(s) of the window of "
            f"{report_date.isoformat()} are not built ({missing[0].isoformat()}..{missing[-1].isoformat()}): "
            f"run `rko marts build --from {missing[0].isoformat()} --to {missing[-1].isoformat()}`, "
            "or set RKO_FEATURE_SOURCE=auto"
        )
    log.info(
        "snapshot %s: features from the raw tables (the marts of %d month(s) of the window are not built)",
        report_date,
        len(missing),
    )
    return RAW_SOURCE_QUERIES
