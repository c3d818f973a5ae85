"""DDL of the data contract: the single source of truth for the warehouse's tables.

A bank plugs in its own warehouse by providing tables or views with these names and
columns (see ``docs/data_contract.md``, checked against this module by the tests). The
synthetic bank creates them as tables. ``synthetic_truth`` belongs to the synthetic bank
only: no feature SQL reads it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.engine import Connection

metadata = MetaData()

clients = Table(
    "clients",
    metadata,
    Column("client_id", BigInteger, primary_key=True, autoincrement=False, comment="bank's client key"),
    Column("inn", String(12), nullable=False, comment="taxpayer number (10 digits, 12 for sole traders)"),
    Column("legal_form", String(8), comment="ООО, ИП, АО, ПАО"),
    Column("okved_code", String(8), comment="main OKVED-2 code, e.g. 47.11"),
    Column("region_code", String(2), comment="two-digit region code, e.g. 77"),
    Column("registration_date", Date, nullable=False, comment="state registration date"),
    Column("liquidation_date", Date, comment="liquidation date; NULL while active"),
    Column("segment", String(8), nullable=False, comment="SMB, MID or LARGE"),
    Column("headcount", Integer, comment="declared number of employees"),
    Column("declared_revenue", Float, comment="declared annual revenue, RUB"),
)

client_attributes = Table(
    "client_attributes",
    metadata,
    Column("client_id", BigInteger, nullable=False, comment="bank's client key, as in clients"),
    Column("valid_from", Date, nullable=False, comment="first day these values held"),
    Column("valid_to", Date, comment="first day they no longer held; NULL while they still hold"),
    Column("segment", String(8), nullable=False, comment="SMB, MID or LARGE"),
    Column("okved_code", String(8), comment="main OKVED-2 code, e.g. 47.11"),
    Column("region_code", String(2), comment="two-digit region code, e.g. 77"),
    Column("headcount", Integer, comment="declared number of employees"),
    Column("declared_revenue", Float, comment="declared annual revenue, RUB"),
)

account_monthly = Table(
    "account_monthly",
    metadata,
    Column("client_id", BigInteger, nullable=False),
    Column("month_end", Date, nullable=False, comment="last day of the month the row sums up"),
    Column("avg_balance", Float, comment="average daily balance over all accounts, RUB"),
    Column("turnover_in", Float, comment="incoming turnover in the month, RUB"),
    Column("turnover_out", Float, comment="outgoing turnover in the month, RUB"),
)

payments = Table(
    "payments",
    metadata,
    Column("payment_id", BigInteger, nullable=False),
    Column("client_id", BigInteger, nullable=False),
    Column("payment_date", Date, nullable=False),
    Column("amount", Float, nullable=False, comment="RUB, positive"),
    Column("direction", String(3), nullable=False, comment="in or out"),
    Column("counterparty_inn", String(12)),
    Column("purpose", Text, comment="payment purpose as written by the payer (Russian)"),
)

product_events = Table(
    "product_events",
    metadata,
    Column("client_id", BigInteger, nullable=False),
    Column("product", String(16), nullable=False, comment="RKO, DEPOSIT, CREDIT, CORP_CARD, ACQUIRING, ..."),
    Column("open_date", Date, nullable=False),
    Column("close_date", Date, comment="NULL while open"),
)

digital_activity = Table(
    "digital_activity",
    metadata,
    Column("client_id", BigInteger, nullable=False),
    Column("month_end", Date, nullable=False),
    Column("app_sessions", Integer, nullable=False),
    Column("web_sessions", Integer, nullable=False),
    Column("banner_views", Integer, nullable=False),
    Column("banner_clicks", Integer, nullable=False),
)

synthetic_truth = Table(
    "synthetic_truth",
    metadata,
    Column("client_id", BigInteger, nullable=False),
    Column("month_end", Date, nullable=False),
    Column("propensity", Float, nullable=False, comment="true P(open RKO within 3 months | month end)"),
)

#: The hazard the generator actually drew from: the probability that the client opens RKO in the
#: month after ``month_end`` (drawn only when the client is eligible then). Kept for every active,
#: not yet liquidated client, so that the oracle ceiling 1-(1-h1)(1-h2)(1-h3) of a report date
#: can be computed over the three window months that really happened.
synthetic_hazard = Table(
    "synthetic_hazard",
    metadata,
    Column("client_id", BigInteger, nullable=False),
    Column("month_end", Date, nullable=False),
    Column("hazard", Float, nullable=False, comment="P(open RKO in the month after month_end), as drawn"),
)

#: What the marketing optimizer really sent (written back after each campaign); optional: without it
#: the pilot measurement has nothing to measure and the contact features are zero.
marketing_contacts = Table(
    "marketing_contacts",
    metadata,
    Column("client_id", BigInteger, nullable=False),
    Column("contact_date", Date, nullable=False, comment="day the offer was made"),
    Column("channel", String(16), nullable=False, comment="banner or manager (client manager)"),
    Column("campaign_id", String(64), nullable=False, comment="the optimizer's campaign"),
    Column("arm", String(8), comment="model, rules or control: the arm of the list the contact came from"),
)

#: The synthetic bank's true effect of each contact: 3-month propensity without and with it.
synthetic_contact_truth = Table(
    "synthetic_contact_truth",
    metadata,
    Column("client_id", BigInteger, nullable=False),
    Column("month_end", Date, nullable=False, comment="report date of the list the contact came from"),
    Column("propensity_without", Float, nullable=False),
    Column("propensity_with", Float, nullable=False),
)

# Feature marts: per client and month, what every windowed feature of the snapshot is summed or
# combined from (docs/data_contract.md, "Feature marts"). The project writes them, month by month
# (rko_model/stages/marts.py, sql/marts/); a month is replaced whole, in one transaction. Money is kept in
# whole kopecks, whole numbers in doubles: below 2**53 a double adds them exactly in any order, so a
# window's sum is the same whichever way its months are grouped (and it adds faster than NUMERIC).

mart_client_month = Table(
    "mart_client_month",
    metadata,
    Column("client_id", BigInteger, nullable=False),
    Column("month_end", Date, nullable=False, comment="the month the row sums up"),
    Column("account_rows", Integer, nullable=False, comment="account_monthly rows of the month"),
    Column("balance_kop", Float, comment="sum of avg_balance, kopecks; NULL when no value"),
    Column("balance_n", Integer, nullable=False, comment="avg_balance values summed"),
    Column("turnover_in_kop", Float, comment="sum of turnover_in, kopecks; NULL when no value"),
    Column("turnover_out_kop", Float, comment="sum of turnover_out, kopecks; NULL when no value"),
    Column("pay_in_cnt", Integer, nullable=False, comment="incoming payments"),
    Column("pay_in_kop", Float, nullable=False, comment="incoming amount, kopecks"),
    Column("pay_out_cnt", Integer, nullable=False, comment="outgoing payments"),
    Column("pay_out_kop", Float, nullable=False, comment="outgoing amount, kopecks"),
    Column("pay_max_amount", Float, comment="largest payment of the month, RUB; NULL without payments"),
    Column("digital_rows", Integer, nullable=False, comment="digital_activity rows of the month"),
    Column("app_sessions", Integer, nullable=False),
    Column("web_sessions", Integer, nullable=False),
    Column("banner_views", Integer, nullable=False),
    Column("banner_clicks", Integer, nullable=False),
    comment="one row per client and month with any account, payment or digital row",
)

mart_counterparty_month = Table(
    "mart_counterparty_month",
    metadata,
    Column("client_id", BigInteger, nullable=False),
    Column("month_end", Date, nullable=False),
    Column("counterparty_inn", String(12), nullable=False),
    comment="the distinct counterparties a client paid or was paid by in a month",
)

mart_payment_text_month = Table(
    "mart_payment_text_month",
    metadata,
    Column("client_id", BigInteger, nullable=False),
    Column("month_end", Date, nullable=False),
    Column("payment_date", Date, nullable=False),
    Column("payment_id", BigInteger),
    Column("purpose", Text, nullable=False),
    comment="a client's newest payment purposes of a month (at most the text field's length)",
)

mart_months = Table(
    "mart_months",
    metadata,
    Column("month_end", Date, primary_key=True, comment="a month whose marts are built"),
    Column("built_at", DateTime, nullable=False, comment="when (UTC)"),
    Column("clients", Integer, nullable=False, comment="rows of mart_client_month"),
    Column("account_rows", BigInteger, nullable=False, comment="account_monthly rows read"),
    Column("payment_rows", BigInteger, nullable=False, comment="payments rows read"),
    Column("digital_rows", BigInteger, nullable=False, comment="digital_activity rows read"),
    Column("fingerprint", String(64), nullable=False, comment="of the month's raw rows, to see a late correction"),
    comment="the months whose marts are complete: a snapshot reads marts only when its window is all here",
)

#: What the features mart keeps per window, by how a window combines it: "count" sums and is 0
#: without rows, "sum" sums and is NULL without a value, "max" takes the largest (NULL without).
FEATURE_MEASURES: tuple[tuple[str, str], ...] = (
    ("months", "count"),
    ("account_rows", "count"),
    ("balance_kop", "sum"),
    ("balance_n", "count"),
    ("turnover_in_kop", "sum"),
    ("turnover_out_kop", "sum"),
    ("pay_in_cnt", "count"),
    ("pay_in_kop", "count"),
    ("pay_out_cnt", "count"),
    ("pay_out_kop", "count"),
    ("pay_max_amount", "max"),
    ("app_sessions", "count"),
    ("web_sessions", "count"),
    ("banner_views", "count"),
    ("banner_clicks", "count"),
)
#: Measures held as whole numbers (the rest are doubles: kopecks, roubles).
_WHOLE_MEASURES = (
    "months",
    "account_rows",
    "balance_n",
    "pay_in_cnt",
    "pay_out_cnt",
    "app_sessions",
    "web_sessions",
    "banner_views",
    "banner_clicks",
)


def _feature_column(measure: str, combine: str, window: int) -> Column:
    kind = Integer if measure in _WHOLE_MEASURES else Float
    return Column(f"{measure}_{window}m", kind, nullable=combine != "count")


# The second layer: one row per report month and candidate client (eligible at the month before
# the OKVED exclusions: whom a snapshot of the month may score; zeros without activity), holding
# every windowed sum the snapshot's features are read from (windows of 1, 3, 6 and 12 months;
# sql/marts/snapshot_features.sql), the distinct counterparties and the payment text. Built from
# the monthly marts when the month closes (sql/marts/features_*.sql): a 12-month window is composed
# of three monthly rows and the 3m and 6m sums of the rows of 3 and 6 months before, so a month's
# build reads five rows per client instead of twelve.
mart_client_features = Table(
    "mart_client_features",
    metadata,
    Column("month_end", Date, nullable=False, comment="the report month the row's windows end at"),
    Column("client_id", BigInteger, nullable=False),
    *(_feature_column(measure, combine, window) for measure, combine in FEATURE_MEASURES for window in (1, 3, 6, 12)),
    Column("counterparties_12m", Integer, comment="distinct counterparties of the 12 months; 0 without any"),
    Column("payment_text", Text, comment="the newest purposes of the 3 months, newest first; NULL without any"),
    comment="per report month and client: the snapshot's windowed features, read in one row",
)

mart_build_counterparties = Table(
    "mart_build_counterparties",
    metadata,
    Column("month_end", Date, nullable=False, comment="the report month being built"),
    Column("client_id", BigInteger, nullable=False),
    Column("counterparties_12m", Integer, nullable=False, comment="distinct counterparties of the 12 months"),
    comment="scratch: a features build's distinct counterparties, counted beside it, folded in and deleted",
)

mart_feature_months = Table(
    "mart_feature_months",
    metadata,
    Column("month_end", Date, primary_key=True, comment="a report month whose features mart is built"),
    Column("built_at", DateTime, nullable=False, comment="when (UTC)"),
    Column("clients", Integer, nullable=False, comment="rows of mart_client_features"),
    comment="the report months a snapshot can read from mart_client_features",
)

#: Monthly source columns whose infinite or out-of-bound values the marts build counts (the bounds
#: are in rko_model/stages/source_values.py; the clients table is checked live).
MONTHLY_SOURCE_COLUMNS = (
    ("account_monthly", "avg_balance"),
    ("account_monthly", "turnover_in"),
    ("account_monthly", "turnover_out"),
    ("payments", "amount"),
    ("digital_activity", "app_sessions"),
    ("digital_activity", "web_sessions"),
    ("digital_activity", "banner_views"),
    ("digital_activity", "banner_clicks"),
)

mart_source_values = Table(
    "mart_source_values",
    metadata,
    Column("month_end", Date, primary_key=True, comment="a month whose raw rows the marts build read"),
    *(
        column
        for table, name in MONTHLY_SOURCE_COLUMNS
        for column in (
            Column(f"{table}__{name}__bad_rows", BigInteger, nullable=False, comment="infinite or beyond its bound"),
            Column(f"{table}__{name}__example_client", BigInteger, comment="the smallest client id holding one"),
        )
    ),
    comment="per month: the source values that validation refuses, counted once by the marts build",
)

#: The feature marts, built by the project (not part of the contract a bank provides).
MART_TABLES = (
    mart_client_month,
    mart_counterparty_month,
    mart_payment_text_month,
    mart_months,
    mart_client_features,
    mart_feature_months,
    mart_source_values,
    mart_build_counterparties,
)

#: Tables a bank must provide (the data contract), in load order.
CONTRACT_TABLES = (clients, client_attributes, account_monthly, payments, product_events, digital_activity)
#: Contract tables a bank may provide; the features and measurements that read them degrade without.
OPTIONAL_CONTRACT_TABLES = (marketing_contacts,)
#: Tables the synthetic generator writes.
SYNTHETIC_TABLES = (
    *CONTRACT_TABLES,
    *OPTIONAL_CONTRACT_TABLES,
    synthetic_truth,
    synthetic_hazard,
    synthetic_contact_truth,
)


@dataclass(frozen=True)
class IndexSpec:
    """A secondary index; ``include`` columns are carried in its leaves (PostgreSQL only, ignored by SQLite)."""

    name: str
    table: Table
    columns: tuple[str, ...]
    unique: bool = False
    include: tuple[str, ...] = ()


#: Secondary indexes, built after bulk loads: once is cheaper than row by row.
#: Kept as specs, not Index objects, so that creating the tables does not build them too.
#: The per-client ones cover what the snapshot SQL reads of a client's window, so that on
#: PostgreSQL each eligible client's months and payments are an index-only range scan
#: (sql/snapshot/*.postgresql.sql) instead of a pass over every client's rows.
INDEXES: tuple[IndexSpec, ...] = (
    IndexSpec(
        "ix_account_monthly_client_month",
        account_monthly,
        ("client_id", "month_end"),
        unique=True,
        include=("avg_balance", "turnover_in", "turnover_out"),
    ),
    IndexSpec("ix_account_monthly_month", account_monthly, ("month_end",)),
    IndexSpec("ix_payments_date", payments, ("payment_date",)),
    IndexSpec(
        "ix_payments_client_date",
        payments,
        ("client_id", "payment_date"),
        include=("direction", "amount", "counterparty_inn"),
    ),
    IndexSpec("ix_product_events_client", product_events, ("client_id", "product")),
    IndexSpec(
        "ix_digital_client_month",
        digital_activity,
        ("client_id", "month_end"),
        unique=True,
        include=("app_sessions", "web_sessions", "banner_views", "banner_clicks"),
    ),
    IndexSpec("ix_digital_month", digital_activity, ("month_end",)),
    IndexSpec(
        "ix_client_attributes_client_from",
        client_attributes,
        ("client_id", "valid_from"),
        unique=True,
        include=("valid_to", "segment", "okved_code", "region_code", "headcount", "declared_revenue"),
    ),
    IndexSpec("ix_truth_client_month", synthetic_truth, ("client_id", "month_end"), unique=True),
    IndexSpec("ix_hazard_client_month", synthetic_hazard, ("client_id", "month_end"), unique=True),
    IndexSpec("ix_marketing_contacts_client_date", marketing_contacts, ("client_id", "contact_date")),
    IndexSpec("ix_marketing_contacts_date", marketing_contacts, ("contact_date",)),
)

#: Indexes of the feature marts, built with the tables. A month is written, replaced and read
#: whole (a build reads a few months of every client), so the monthly marts are indexed by month
#: alone: on PostgreSQL the index deduplicates a month's equal keys into a few pages, and writing a
#: month does not touch an index leaf per row. A snapshot reads one report month of the features
#: for the eligible clients: (month_end, client_id). Not unique: the build's GROUP BY and DISTINCT
#: write one row per key (tests/stages/test_marts.py checks a rerun leaves one copy), and a unique
#: index would check every row against the month's deleted rows on a rebuild.
MART_INDEXES: tuple[IndexSpec, ...] = (
    IndexSpec("ix_mart_client_month_month_only", mart_client_month, ("month_end",)),
    IndexSpec("ix_mart_counterparty_month_month_only", mart_counterparty_month, ("month_end",)),
    IndexSpec("ix_mart_payment_text_month_month_only", mart_payment_text_month, ("month_end",)),
    IndexSpec("ix_mart_client_features_month_client", mart_client_features, ("month_end", "client_id")),
    # Month and client: the build's insert looks each candidate's row up (SQLite searches the index
    # per row; by month alone it read the whole month for every candidate).
    IndexSpec("ix_mart_build_counterparties_month_client", mart_build_counterparties, ("month_end", "client_id")),
)

#: Indexes of earlier versions of the marts, dropped when the marts are next built (client first, for
#: snapshots that summed the monthly rows per client: the features mart replaced them).
OBSOLETE_MART_INDEXES = (
    "ix_mart_client_month_month_client",
    "ix_mart_counterparty_month_month_client",
    "ix_mart_payment_text_month_month_client",
    "ix_mart_client_month",
    "ix_mart_client_month_month",
    "ix_mart_counterparty_month",
    "ix_mart_counterparty_month_month",
    "ix_mart_payment_text_month",
    "ix_mart_payment_text_month_month",
    "ix_mart_build_counterparties_month",
)


def create_indexes(conn: Connection, specs: tuple[IndexSpec, ...] = INDEXES) -> None:
    """Build the secondary indexes once the bulk load is over (in the caller's transaction)."""
    for spec in specs:
        detached = spec.table.to_metadata(MetaData())
        columns = (detached.c[c] for c in spec.columns)
        index = Index(spec.name, *columns, unique=spec.unique, postgresql_include=list(spec.include))
        index.create(conn, checkfirst=True)
