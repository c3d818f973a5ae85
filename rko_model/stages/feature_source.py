"""Which SQL a snapshot reads its features with: the features mart or the raw tables.

The raw-table SQL (``sql/snapshot/``) rescans 12 months of payments, account months and
digital activity per client; the features mart (``mart_client_features``, built by
:mod:`rko_model.stages.marts` when the month closes) holds each client's windowed features of
the report month in one row. Both give the same snapshot, feature for feature
(tests/stages/test_marts.py). The mart is read only for a report month whose features are
registered as built: a month being rebuilt, or one whose window's monthly marts were rebuilt
since, is not, and is read from the raw tables.
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
from rko_model.warehouse.schema import mart_feature_months, mart_months, mart_source_values

log = logging.getLogger(__name__)

#: SQL files of the feature sources on the raw tables, merged onto the eligible clients in this order.
RAW_SOURCE_QUERIES = (
    "snapshot/account",
    "snapshot/payments",
    "snapshot/payment_text",
    "snapshot/digital",
    "snapshot/products",
)

#: The features mart's query: one row per client the month's build held (its candidates).
FEATURES_MART_QUERY = "marts/snapshot_features"
#: The same features from the features mart, one row per client; products stay raw (a client's
#: product events are few, and they are read as of the report date, not by month).
MART_SOURCE_QUERIES = (FEATURES_MART_QUERY, "snapshot/products")

#: Months a snapshot's features reach back (the longest window), all of which the marts must hold.
WINDOW_MONTHS = max(col.WINDOWS)


def window_months(report_date: dt.date) -> list[dt.date]:
    """The month ends whose rows a snapshot of ``report_date`` reads, oldest first."""
    return month_ends(report_date, WINDOW_MONTHS)


def built_months(engine: Engine | Connection, settings: Settings) -> list[dt.date]:
    """The months whose monthly marts are built (none when the warehouse has no marts)."""
    return _registered(engine, settings, mart_months.name, "marts/built_months")


def feature_months(engine: Engine | Connection, settings: Settings) -> list[dt.date]:
    """The report months whose features mart is built (none when the warehouse has no marts)."""
    return _registered(engine, settings, mart_feature_months.name, "marts/feature_months")


def counted_months(engine: Engine | Connection, settings: Settings) -> list[dt.date]:
    """The months whose out-of-bound source values the marts build counted (mart_source_values)."""
    return _registered(engine, settings, mart_source_values.name, "marts/counted_months")


def _registered(engine: Engine | Connection, settings: Settings, table: str, sql: str) -> list[dt.date]:
    try:
        if not sa.inspect(engine).has_table(table):
            return []
    except SQLAlchemyError as exc:
        raise WarehouseError(f"could not read the warehouse's catalogue: {exc}") from exc
    frame = read_frame(engine, backend_for(engine).load_sql(settings.sql_dir, sql), {})
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
    """The months of ``report_date``'s window whose monthly marts are not built (and that hold raw rows)."""
    built = set(built_months(engine, settings))
    missing = [m for m in window_months(report_date) if m not in built]
    if missing and built:
        first, _ = raw_months(engine, settings)
        missing = [m for m in missing if m >= first]
    return missing


def reads_features_mart(engine: Engine | Connection, settings: Settings, report_date: dt.date) -> bool:
    """Whether a snapshot of ``report_date`` reads the features mart: the setting allows it and the month's is built."""
    return settings.feature_source != "raw" and report_date in set(feature_months(engine, settings))


def source_queries(engine: Engine, settings: Settings, report_date: dt.date) -> tuple[str, ...]:
    """The feature SQL files for a snapshot of ``report_date``, by the setting ``RKO_FEATURE_SOURCE``.

    ``auto`` reads the features mart where the report month's is built and the raw tables
    elsewhere; ``marts`` refuses a month whose features mart is not built; ``raw`` never reads the marts.
    """
    if settings.feature_source == "raw":
        return RAW_SOURCE_QUERIES
    if reads_features_mart(engine, settings, report_date):
        log.info("snapshot %s: features from the features mart", report_date)
        return MART_SOURCE_QUERIES
    if settings.feature_source == "marts":
        raise IncompleteDataError(
            f"RKO_FEATURE_SOURCE=marts, but the features mart of {report_date.isoformat()} is not built: run "
            f"`rko marts build --month {report_date.isoformat()}` (it builds what the month needs), "
            "or set RKO_FEATURE_SOURCE=auto"
        )
    log.info("snapshot %s: features from the raw tables (its features mart is not built)", report_date)
    return RAW_SOURCE_QUERIES
