"""The tables of the staging and monitoring schemas, shared by the staging module and the warehouse backends.

``mo_staging.rko_propensity`` holds one ranked list per report date (list-partitioned by
report date on PostgreSQL), ``mo_staging.rko_publication`` each month's fencing number,
``rko_monitoring.*`` the runs, the realised performance and the pilot's measurement. How a
month is published on each warehouse is its backend's (:mod:`rko_model.warehouse.backends`).
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
from sqlalchemy import BigInteger, Column, Date, DateTime, Float, Index, Integer, MetaData, String, Table, Text

from rko_model.warehouse.list_columns import pilot_columns

STAGING_SCHEMA = "mo_staging"
MONITORING_SCHEMA = "rko_monitoring"

metadata = MetaData()

#: No primary key on purpose: maintaining a B-tree on every load halves COPY's speed. Months are
#: replaced whole and a list is checked for duplicate clients before it is written; the
#: optimizer reads by month, which partition pruning serves on PostgreSQL and an index on SQLite.
rko_propensity = Table(
    "rko_propensity",
    metadata,
    Column("report_date", Date, nullable=False),
    Column("client_id", BigInteger, nullable=False),
    Column("score", Float, nullable=False, comment="probability of opening RKO within 3 months"),
    Column("rank", Integer, nullable=False, comment="1 = most likely"),
    Column("decile", Integer, nullable=False, comment="1 = top 10%"),
    Column("model_version", String(64), nullable=False),
    Column("run_id", String(250), nullable=False),
    Column("loaded_at", DateTime, nullable=False),
    *pilot_columns(),  # version 2, appended: see rko_model/warehouse/list_columns.py
    Index("ix_rko_propensity_report_date", "report_date").ddl_if(dialect="sqlite"),
    schema=STAGING_SCHEMA,
    postgresql_partition_by="LIST (report_date)",
)

#: Columns of the list that are constant for a month (one month, model, run and load time); the
#: others are per client. Adding a column to ``rko_propensity`` is all a new column needs: the
#: load table, the COPY and :func:`read_published` follow the table.
CONSTANT_COLUMNS = ("report_date", "model_version", "run_id", "loaded_at")
#: The bare table a month is COPied into before it becomes that month's partition (PostgreSQL);
#: its constant columns are filled by column defaults.
LOAD_COLUMNS = tuple(c.name for c in rko_propensity.columns if c.name not in CONSTANT_COLUMNS)
load_table = Table(
    "rko_propensity_load",
    MetaData(),
    *(Column(c.name, c.type, nullable=c.nullable) for c in rko_propensity.columns if c.name in LOAD_COLUMNS),
    schema=STAGING_SCHEMA,
)
#: SQLSTATEs raised by the publishing functions: a stale fencing token, a run id of another month.
FENCED_SQLSTATE, RUN_ID_TAKEN_SQLSTATE = "RKF01", "RKR01"

#: Per month, the generation (the fencing number) advanced by every claim of the month and every publish.
rko_publication = Table(
    "rko_publication",
    metadata,
    Column("report_date", Date, primary_key=True),
    Column("generation", BigInteger, nullable=False, comment="the fencing number, +1 per claim and per publish"),
    Column("claimed_by", String(250), comment="the run that claimed the month last"),
    Column("claimed_at", DateTime),
    Column("published_run_id", String(250), comment="the run whose list is the month's published list"),
    Column("published_at", DateTime),
    schema=STAGING_SCHEMA,
)

run_metrics = Table(
    "rko_run_metrics",
    metadata,
    Column("run_id", String(250), primary_key=True),
    Column("report_date", Date, nullable=False),
    Column("model_version", String(64)),
    Column("status", String(32), nullable=False, comment="published, failed_validation, ..."),
    Column("rows_snapshot", Integer),
    Column("rows_scored", Integer),
    Column("rows_published", Integer),
    Column("validation_success", Integer),
    Column("validation_critical", Integer),
    Column("validation_warnings", Integer),
    Column("score_mean", Float),
    Column("score_p50", Float),
    Column("score_p90", Float),
    Column("score_psi", Float),
    Column("feature_psi_max", Float),
    Column("details", Text, comment="JSON: step durations, per-feature PSI, score histogram, file paths"),
    Column("recorded_at", DateTime, nullable=False),
    schema=MONITORING_SCHEMA,
)

#: One row per scored month whose 3-month window has closed: what the list really achieved.
realised_performance = Table(
    "rko_realised_performance",
    metadata,
    Column("report_date", Date, primary_key=True, comment="the scored month; its window closed 3 months later"),
    Column("model_version", String(64)),
    Column("run_id", String(250), comment="the scoring run whose list was evaluated"),
    Column("rows", Integer, nullable=False, comment="listed clients with a known outcome"),
    Column("rows_unlabelled", Integer, nullable=False, comment="listed clients no longer eligible at the report date"),
    Column("positives", Integer, nullable=False, comment="listed clients who opened RKO in the window"),
    Column("base_rate", Float),
    Column("gini", Float),
    Column("lift_top_decile", Float),
    Column("conversion_top10", Float),
    Column("score_psi", Float, comment="of the evaluated run, from rko_run_metrics"),
    Column("status", String(32), nullable=False, comment="ok, warning or alert"),
    Column("message", Text),
    Column("evaluated_at", DateTime, nullable=False),
    schema=MONITORING_SCHEMA,
)


#: The pilot's measurement: one row per list month and line (an arm or a comparison), see rko_model.pilot.
pilot_results = Table(
    "rko_pilot_results",
    metadata,
    Column("report_date", Date, primary_key=True, comment="the list's month; its window closed 3 months later"),
    Column("line", String(32), primary_key=True, comment="model, rules, control, model_vs_rules, ..."),
    Column("eligible", Integer, nullable=False),
    Column("contacted", Integer, nullable=False),
    Column("openings", Integer, nullable=False),
    Column("conversion", Float),
    Column("contacted_openings", Integer),
    Column("contacted_conversion", Float),
    Column("matched_control", Integer, comment="control rows of the same ranks as the contacted rows"),
    Column("matched_control_openings", Integer),
    Column("matched_control_conversion", Float),
    Column("increment", Float, comment="incremental 3-month conversion of the contacted rows"),
    Column("ci_low", Float, comment="95% interval"),
    Column("ci_high", Float),
    Column("verdict", String(16), nullable=False, comment="positive, negative or inconclusive (interval holds 0)"),
    Column("contact_cost", Float),
    Column("cost_per_incremental_opening", Float),
    Column("conversion_uplift", Float),
    Column("cost_saving", Float),
    Column("mde", Float, comment="minimum detectable increment, 80% power"),
    Column("months_needed", Float, comment="months of this volume to detect the target increment"),
    Column("evaluated_at", DateTime, nullable=False),
    schema=MONITORING_SCHEMA,
)


def utc_now() -> dt.datetime:
    """Now, in UTC without a zone and to the second: the stamps of claims, publications and recorded rows."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def json_ready(values: dict[str, object]) -> dict[str, object]:
    """A row as JSON values: dates in ISO form, NaN and infinities as null."""
    out: dict[str, object] = {}
    for key, value in values.items():
        if isinstance(value, dt.date | dt.datetime | pd.Timestamp):
            out[key] = value.isoformat()
        elif isinstance(value, float) and not math.isfinite(value):
            out[key] = None
        elif hasattr(value, "item"):  # a numpy scalar
            out[key] = value.item()
        else:
            out[key] = value
    return out
