"""The one table of reasons: each feature's reason code, its data source, and the phrase a client manager reads.

Phrases are in Russian, as the managers read them; the English is for the docs
(``docs/reasons.md``). A reason says what raised the client's propensity; the list shows
only reasons that raise it. Several features make one reason (the windows of one
aggregate), so a manager reads "входящий оборот за последние месяцы" once, not four times.

The payment text is one feature for CatBoost; its reason is phrased by the most telling
payment topic found in the client's purposes (:data:`TEXT_TOPICS`, keyword stems), or by the
generic phrase when none is found.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from rko_model import columns as col

#: code -> (data source, Russian phrase, English phrase)
PHRASES: Final[dict[str, tuple[str, str, str]]] = {
    "company_age": ("profile", "молодая компания: возраст бизнеса", "a young company: the age of the business"),
    "company_size": ("profile", "размер бизнеса: штат и выручка", "the size of the business: staff and revenue"),
    "legal_form": ("profile", "организационно-правовая форма", "the legal form"),
    "industry": ("profile", "отрасль по ОКВЭД", "the industry (OKVED)"),
    "region": ("profile", "регион регистрации", "the region of registration"),
    "products_held": ("products", "продукты банка у клиента (кредит, депозит, карта)", "the bank's products held"),
    "recent_product": ("products", "недавно открытый продукт банка", "a product of the bank opened recently"),
    "turnover_in_recent": (
        "accounts",
        "рост входящего оборота за 3 месяца",
        "incoming turnover over the last 3 months",
    ),
    "turnover_in_year": ("accounts", "входящий оборот за год", "incoming turnover over the year"),
    "turnover_out": ("accounts", "исходящий оборот по счетам", "outgoing turnover"),
    "balance": ("accounts", "остатки на счетах", "account balances"),
    "account_tenure": ("accounts", "месяцы активности счёта за год", "months of account activity in the year"),
    "payments_in": ("payments", "входящие платежи от контрагентов", "incoming payments"),
    "payments_out": ("payments", "активные исходящие платежи", "outgoing payment activity"),
    "large_payments": ("payments", "крупные платежи", "large payments"),
    "counterparties": ("payments", "много контрагентов", "many counterparties"),
    "text_import": ("text", "платежи по импорту", "import payments"),
    "text_own_transfer": ("text", "переводы собственных средств в другой банк", "own-funds transfers to another bank"),
    "text_marketplace": ("text", "выручка от маркетплейсов", "marketplace proceeds"),
    "text_acquiring": ("text", "поступления по эквайрингу", "card acquiring proceeds"),
    "text_salary": ("text", "выплаты заработной платы", "payroll payments"),
    "text_leasing": ("text", "лизинговые платежи", "leasing payments"),
    "text_loan": ("text", "платежи по кредитам и займам", "loan payments"),
    "text_other": ("text", "назначения платежей", "the payment purposes"),
    "banner_clicks": ("digital", "клик по баннеру РКО", "clicked an RKO banner"),
    "banner_views": ("digital", "просмотры баннеров банка", "viewed the bank's banners"),
    "app_use": ("digital", "активность в мобильном банке", "mobile-bank activity"),
    "web_use": ("digital", "активность в интернет-банке", "internet-bank activity"),
    "contact_history": ("contacts", "история предложений банка", "the history of the bank's offers"),
}

#: Keyword stems (lower case) of the payment topics that phrase the text's reason, most telling first.
TEXT_TOPICS: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    ("text_import", ("импорт", "валютному контракту", "таможен")),
    ("text_own_transfer", ("собственных средств", "собственными средствами")),
    ("text_marketplace", ("маркетплейс",)),
    ("text_acquiring", ("эквайринг", "картой через терминал")),
    ("text_salary", ("заработн", "зарплат")),
    ("text_leasing", ("лизинг",)),
    ("text_loan", ("кредит", "займ")),
)
TEXT_REASON: Final = "text_other"


def _by_stem(feature: str) -> str:
    """The reason code of a feature, from its name (one rule per family of columns)."""
    rules = (
        (("company_age_months",), "company_age"),
        (("headcount", "declared_revenue"), "company_size"),
        (("legal_form",), "legal_form"),
        (("okved_code", "okved_class"), "industry"),
        (("region_code",), "region"),
        (("active_products", "has_"), "products_held"),
        (("months_since_last_product",), "recent_product"),
        (("turnover_in_1m", "turnover_in_3m"), "turnover_in_recent"),
        (("turnover_in_",), "turnover_in_year"),
        (("turnover_out_",), "turnover_out"),
        (("balance_",), "balance"),
        (("account_months",), "account_tenure"),
        (("pay_in_",), "payments_in"),
        (("pay_out_",), "payments_out"),
        (("pay_max_amount",), "large_payments"),
        (("counterparties",), "counterparties"),
        (col.TEXT_FEATURES, TEXT_REASON),
        (("banner_clicks",), "banner_clicks"),
        (("banner_views",), "banner_views"),
        (("app_sessions",), "app_use"),
        (("web_sessions",), "web_use"),
        (("contacts_", "manager_contacts_", "months_since_contact"), "contact_history"),
    )
    for stems, code in rules:
        if any(feature.startswith(stem) for stem in stems):
            return code
    raise KeyError(feature)


def reason_code(feature: str) -> str:
    """The reason code of ``feature``; a feature the table does not know raises KeyError (a test covers all)."""
    return _by_stem(feature)


def phrase(code: str, language: str = "ru") -> str:
    _source, ru, en = PHRASES[code]
    return ru if language == "ru" else en


def text_reason(text: object) -> str:
    """The most telling payment topic found in a client's purpose text, as a reason code."""
    lowered = text.lower() if isinstance(text, str) else ""
    for code, stems in TEXT_TOPICS:
        if any(stem in lowered for stem in stems):
            return code
    return TEXT_REASON


def reason_texts(codes: np.ndarray, language: str = "ru") -> np.ndarray:
    """The phrases of each row of ``codes`` (rows x reasons, None for none) joined by "; ", None for a row of none.

    Joined once per distinct combination of codes (a few hundred), not once per client.
    """
    if codes.shape[0] == 0:
        return np.full(0, None, dtype=object)
    index, known = pd.factorize(codes.ravel(), use_na_sentinel=True)  # None -> -1
    digits = (index.reshape(codes.shape) + 1).astype(np.int64)  # 0 for none
    base = len(known) + 1
    keys = digits @ (base ** np.arange(codes.shape[1] - 1, -1, -1, dtype=np.int64))  # one integer per combination
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    joined = np.array(
        ["; ".join(phrase(known[d - 1], language) for d in digits[i] if d) or None for i in first], dtype=object
    )
    return joined[inverse.ravel()]
