"""Column names and feature lists: the one place that spells them.

The snapshot's columns are grouped by the data source they come from, so that the model
code can add one source at a time (the ablation) without re-listing columns.
"""

from __future__ import annotations

from typing import Final

#: Window lengths, in months, of every windowed feature.
WINDOWS: Final = (1, 3, 6, 12)
#: Months after the report date in which an RKO opening counts as a positive label.
LABEL_HORIZON_MONTHS: Final = 3
#: Months of history, before the report date, that the purpose text covers.
TEXT_WINDOW_MONTHS: Final = 3
#: Most recent payments whose purposes go into the text field.
TEXT_MAX_PAYMENTS: Final = 30

RKO_PRODUCT: Final = "RKO"
SMB_SEGMENT: Final = "SMB"
OTHER_PRODUCTS: Final = ("DEPOSIT", "CREDIT", "CORP_CARD", "ACQUIRING", "SALARY_PROJECT")

CLIENT_ID: Final = "client_id"
REPORT_DATE: Final = "report_date"
TARGET: Final = "target"


def _windowed(*stems: str) -> tuple[str, ...]:
    return tuple(f"{stem}_{w}m" for stem in stems for w in WINDOWS)


PROFILE_CATEGORICAL: Final = ("legal_form", "okved_code", "okved_class", "region_code")
PROFILE_NUMERIC: Final = ("company_age_months", "headcount", "declared_revenue")

ACCOUNT_NUMERIC: Final = (
    *_windowed("balance_avg", "turnover_in", "turnover_out"),
    "account_months_12m",
)
PAYMENT_NUMERIC: Final = (
    *_windowed("pay_in_cnt", "pay_in_sum", "pay_out_cnt", "pay_out_sum"),
    "pay_max_amount_12m",
    "counterparties_12m",
)
PAYMENT_TEXT: Final = ("payment_text",)
DIGITAL_STEMS: Final = ("app_sessions", "web_sessions", "banner_views", "banner_clicks")
DIGITAL_NUMERIC: Final = _windowed(*DIGITAL_STEMS)
PRODUCT_NUMERIC: Final = (
    "active_products",
    *(f"has_{p.lower()}" for p in OTHER_PRODUCTS),
    "months_since_last_product",
)

#: From the optional table marketing_contacts (zero without it): the offers made to the client.
CONTACT_NUMERIC: Final = ("contacts_3m", "contacts_12m", "manager_contacts_12m", "months_since_contact")

#: Feature columns of the snapshot by data source, in the order the ablation adds them.
SOURCES: Final[dict[str, dict[str, tuple[str, ...]]]] = {
    "profile": {"numeric": PROFILE_NUMERIC + PRODUCT_NUMERIC, "categorical": PROFILE_CATEGORICAL},
    "accounts": {"numeric": ACCOUNT_NUMERIC},
    "payments": {"numeric": PAYMENT_NUMERIC},
    "text": {"text": PAYMENT_TEXT},
    "digital": {"numeric": DIGITAL_NUMERIC},
    "contacts": {"numeric": CONTACT_NUMERIC},
}

NUMERIC_FEATURES: Final = tuple(c for s in SOURCES.values() for c in s.get("numeric", ()))
CATEGORICAL_FEATURES: Final = tuple(c for s in SOURCES.values() for c in s.get("categorical", ()))
TEXT_FEATURES: Final = tuple(c for s in SOURCES.values() for c in s.get("text", ()))

#: Every column of a snapshot, keys first.
SNAPSHOT_COLUMNS: Final = (CLIENT_ID, REPORT_DATE, *CATEGORICAL_FEATURES, *TEXT_FEATURES, *NUMERIC_FEATURES)
#: Snapshot features that count events: absent events mean zero, not unknown.
ZERO_WHEN_ABSENT: Final = tuple(
    c
    for c in (*PAYMENT_NUMERIC, *DIGITAL_NUMERIC, *PRODUCT_NUMERIC, *CONTACT_NUMERIC, "account_months_12m")
    if c not in ("months_since_last_product", "months_since_contact")
)
