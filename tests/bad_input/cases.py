"""The corpus of bad input: each case breaks one input of a clean, seeded month and names what must follow.

A case is a small context manager over a :class:`Bench` (a generated bank with a promoted
champion and a published month): it breaks the warehouse (a contract view in place of a
table, rows inserted), the SQL or the model package, yields the settings to run with, and
puts everything back. It declares the outcome a person gets: an error (an ``RkoError``
subclass and a pattern of its message) or a warning (a pattern found in the log and in the
run metrics). ``docs/bad_input.md`` documents every case; a test keeps the two in step.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine

from rko_model.common.partitions import WHOLE
from rko_model.errors import DataContractError, IncompleteDataError, PackageError, RkoError, ValidationError
from rko_model.model.checksums import write_checksums
from rko_model.runs import monthly
from rko_model.settings import Settings
from rko_model.stages.labels import extract_labels
from rko_model.warehouse import schema
from rko_model.warehouse.engine import make_engine
from tests.helpers import insert, promote_champion, registry_folder, replaced_by_view, run

#: The month every case scores, the month before it (the row count's yardstick), the training months.
REPORT_DATE = dt.date(2026, 10, 31)
PREVIOUS_MONTH = dt.date(2026, 9, 30)
TRAIN_MONTHS = [dt.date(2026, 5, 31), dt.date(2026, 6, 30), dt.date(2026, 7, 31)]
CHAMPION = "champion"


@dataclass(frozen=True)
class Bench:
    """A clean bank on one engine, its champion and a published list of REPORT_DATE."""

    kind: str
    engine: Engine
    settings: Settings
    folder: Path
    baseline_snapshot: str  # the URI of the clean snapshot of REPORT_DATE, as the baseline run extracted it
    eligible: tuple[int, ...]  # clients eligible at REPORT_DATE

    @property
    def champion_dir(self) -> Path:
        return registry_folder(self.settings) / "packages" / CHAMPION


Runner = Callable[[Settings, str], Any]


def run_monthly(settings: Settings, run_id: str) -> dict[str, Any]:
    """The five monthly steps, as `rko score` and the DAG run them."""
    return monthly.run_month(settings, REPORT_DATE, run_id)


def run_labels(settings: Settings, run_id: str) -> pd.DataFrame:
    return extract_labels(make_engine(settings.warehouse_url), REPORT_DATE, settings)


@dataclass(frozen=True)
class Case:
    name: str
    breaks: Callable[[Bench], AbstractContextManager[Settings]]
    match: str  # a pattern of the error message, or of the warning
    error: type[RkoError] | None = None  # None: a warning, and the month is published
    warned_by: str = "validation"  # where a warning comes from: validation or score
    runner: Runner = run_monthly
    check: Callable[[Bench, Settings, str], None] | None = None  # more assertions after a warning run


CASES: list[Case] = []


def case(name: str, match: str, **options: Any) -> Callable[[Callable[[Bench], Iterator[Settings]]], None]:
    def register(breaks: Callable[[Bench], Iterator[Settings]]) -> None:
        CASES.append(Case(name, contextmanager(breaks), match, **options))

    return register


# --- helpers -------------------------------------------------------------------------------------------------

CLIENT_COLUMNS = [c.name for c in schema.clients.columns]
ATTRIBUTE_COLUMNS = [c.name for c in schema.client_attributes.columns]


def attributes_view(**expressions: str) -> str:
    """A client_attributes view over ``{raw}`` with some columns replaced by SQL expressions."""
    columns = [f"{expressions[c]} AS {c}" if c in expressions else c for c in ATTRIBUTE_COLUMNS]
    return f"SELECT {', '.join(columns)} FROM {{raw}}"


@contextmanager
def eligibility_without(bench: Bench, pattern: str) -> Iterator[Settings]:
    """Settings whose sql/ copy has lost one condition of the eligibility SQL: a regression in a query."""
    folder = bench.folder / f"sql-{uuid.uuid4().hex[:8]}"
    shutil.copytree(bench.settings.sql_dir, folder)
    path = folder / "snapshot" / "eligible.sql"
    text, count = re.subn(pattern, "", path.read_text(encoding="utf-8"), flags=re.S)
    assert count == 1, f"sql/snapshot/eligible.sql no longer matches {pattern!r}: update this case"
    path.write_text(text, encoding="utf-8")
    yield replace(bench.settings, sql_dir=folder)


@contextmanager
def file_changed(path: Path, change: Callable[[bytes], bytes]) -> Iterator[None]:
    original = path.read_bytes()
    path.write_bytes(change(original))
    try:
        yield
    finally:
        path.write_bytes(original)


def same_features_as_baseline(bench: Bench, settings: Settings, run_id: str) -> None:
    """The snapshot equals the clean one: rows dated after the report date do not leak into features."""
    snapshot = pd.read_parquet(f"{monthly.run_folder(settings, REPORT_DATE, run_id)}/snapshot_{WHOLE.label}.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(bench.baseline_snapshot), snapshot)


# --- the data contract ---------------------------------------------------------------------------------------


@case("missing column", r"data contract .*digital_activity lacks column banner_clicks", error=DataContractError)
def _missing_column(bench: Bench) -> Iterator[Settings]:
    view = "SELECT client_id, month_end, app_sessions, web_sessions, banner_views FROM {raw}"
    with replaced_by_view(bench.engine, "digital_activity", view):
        yield bench.settings


@case("renamed column", r"clients lacks column okved_code \(it has okved instead: renamed\?\)", error=DataContractError)
def _renamed_column(bench: Bench) -> Iterator[Settings]:
    columns = ", ".join("okved_code AS okved" if c == "okved_code" else c for c in CLIENT_COLUMNS)
    with replaced_by_view(bench.engine, "clients", f"SELECT {columns} FROM {{raw}}"):
        yield bench.settings


@case("wrong type", r"column headcount should hold numbers but holds '12 чел\.'", error=DataContractError)
def _wrong_type(bench: Bench) -> Iterator[Settings]:
    text = f"CASE WHEN client_id = {bench.eligible[0]} THEN '12 чел.' ELSE CAST(headcount AS VARCHAR(16)) END"
    with replaced_by_view(bench.engine, "client_attributes", attributes_view(headcount=text)):
        yield bench.settings


# --- rows the snapshot must not hold -------------------------------------------------------------------------


@case("duplicated client", r"clients appear more than once.*\(e\.g\. clients \d+", error=ValidationError)
def _duplicated_client(bench: Bench) -> Iterator[Settings]:
    ids = ", ".join(str(i) for i in bench.eligible[:3])
    view = f"SELECT * FROM {{raw}} UNION ALL SELECT * FROM {{raw}} WHERE client_id IN ({ids})"
    with replaced_by_view(bench.engine, "clients", view):
        yield bench.settings


@case("null id", r"rows without a client_id", error=ValidationError)
def _null_id(bench: Bench) -> Iterator[Settings]:
    others = ", ".join(CLIENT_COLUMNS[1:])
    view = f"SELECT * FROM {{raw}} UNION ALL SELECT NULL, {others} FROM {{raw}} WHERE client_id = {bench.eligible[0]}"
    with replaced_by_view(bench.engine, "clients", view):
        yield bench.settings


@case("liquidated company", r"liquidated companies in the snapshot.*\(e\.g\. clients \d+", error=ValidationError)
def _liquidated(bench: Bench) -> Iterator[Settings]:
    pattern = r"\n\s*AND \(c\.liquidation_date IS NULL OR c\.liquidation_date > :report_date\)"
    with eligibility_without(bench, pattern) as settings:
        yield settings


@case("excluded OKVED", r"excluded OKVED code .* in the snapshot.*\(e\.g\. clients \d+", error=ValidationError)
def _excluded_okved(bench: Bench) -> Iterator[Settings]:
    pattern = r"\n\s*AND COALESCE\(a\.okved_code, ''\) NOT IN :excluded_codes\n\s*AND COALESCE\(SUBSTR[^\n]*"
    with eligibility_without(bench, pattern) as settings:
        yield settings


@case("client already holding RKO", r"already holding RKO in the snapshot.*\(e\.g\. clients \d+", error=ValidationError)
def _holding_rko(bench: Bench) -> Iterator[Settings]:
    with eligibility_without(bench, r"\n\s*AND NOT EXISTS \(.*\)\s*$") as settings:
        yield settings


# --- months too small or not there ----------------------------------------------------------------------------


@case(
    "empty month",
    r"report date 2026-10-31 is after the latest complete month 2026-09-30 .*load the month first",
    error=IncompleteDataError,
)
def _empty_month(bench: Bench) -> Iterator[Settings]:
    with replaced_by_view(bench.engine, "account_monthly", "SELECT * FROM {raw} WHERE month_end < '2026-10-01'"):
        yield bench.settings


@case("no eligible client", r"the snapshot is empty: no client is eligible", error=ValidationError)
def _no_eligible_client(bench: Bench) -> Iterator[Settings]:
    renamed = attributes_view(segment="CASE WHEN segment = 'SMB' THEN 'МСБ' ELSE segment END")
    with replaced_by_view(bench.engine, "client_attributes", renamed):
        yield bench.settings


@case("a tenth of the rows", r"row count is off by more than 30% from the previous month's", error=ValidationError)
def _tenth_of_rows(bench: Bench) -> Iterator[Settings]:
    with replaced_by_view(bench.engine, "clients", "SELECT * FROM {raw} WHERE client_id % 10 = 0"):
        yield bench.settings


# --- dates ----------------------------------------------------------------------------------------------------

FUTURE_PAYMENT_ID = 10**15


@case(
    "future-dated events",
    r"3 rows of payments are dated after 2026-10-31, the latest complete month \(up to 2099-12-31\)",
    check=same_features_as_baseline,
)
def _future_events(bench: Bench) -> Iterator[Settings]:
    client = bench.eligible[0]
    dates = [dt.date(2026, 11, 3), dt.date(2027, 2, 15), dt.date(2099, 12, 31)]
    payments = [
        {
            "payment_id": FUTURE_PAYMENT_ID + k,
            "client_id": client,
            "payment_date": day,
            "amount": 1e6,
            "direction": "in",
            "counterparty_inn": "7707083893",
            "purpose": "Оплата по договору поставки",
        }
        for k, day in enumerate(dates)
    ]
    opening = {"client_id": client, "product": "RKO", "open_date": dt.date(2026, 11, 10), "close_date": None}
    insert(bench.engine, "payments", payments)
    insert(bench.engine, "product_events", [opening])
    try:
        yield bench.settings
    finally:
        run(bench.engine, "DELETE FROM payments WHERE payment_id >= :first", first=FUTURE_PAYMENT_ID)
        run(bench.engine, "DELETE FROM product_events WHERE open_date > :day", day=REPORT_DATE)


@case(
    "incomplete label window",
    r"labels for 2026-10-31 need data through 2027-01-31, but the warehouse ends at 2026-10-31; "
    r"latest labelled month: 2026-07-31",
    error=IncompleteDataError,
    runner=run_labels,
)
def _incomplete_label_window(bench: Bench) -> Iterator[Settings]:
    yield bench.settings  # the input is the request: labels of a month whose 3 months have not passed


# --- values the model sees ------------------------------------------------------------------------------------


@case("mostly missing feature", r"declared_revenue is missing for more than 50% of the clients")
def _mostly_missing(bench: Bench) -> Iterator[Settings]:
    view = attributes_view(declared_revenue="CASE WHEN client_id % 10 = 0 THEN declared_revenue END")
    with replaced_by_view(bench.engine, "client_attributes", view):
        yield bench.settings


@case("unseen categories", r"\d+\.\d% of region_code values were never seen in training", warned_by="score")
def _unseen_categories(bench: Bench) -> Iterator[Settings]:
    view = attributes_view(region_code="CASE WHEN client_id % 3 = 0 THEN '00' ELSE region_code END")
    with replaced_by_view(bench.engine, "client_attributes", view):
        yield bench.settings


@case("huge payment text", r"payment text is longer than 20,000 characters")
def _huge_text(bench: Bench) -> Iterator[Settings]:
    purpose = "Оплата по счёту № 17 за услуги связи, в т.ч. НДС. " * 600  # 30,000 characters
    row = {
        "payment_id": FUTURE_PAYMENT_ID,
        "client_id": bench.eligible[0],
        "payment_date": REPORT_DATE - dt.timedelta(days=2),
        "amount": 1500.0,
        "direction": "out",
        "counterparty_inn": "7707083893",
        "purpose": purpose,
    }
    insert(bench.engine, "payments", [row])
    try:
        yield bench.settings
    finally:
        run(bench.engine, "DELETE FROM payments WHERE payment_id >= :first", first=FUTURE_PAYMENT_ID)


# --- the model package ----------------------------------------------------------------------------------------


@case(
    "package checksum",
    r"model\.cbm checksum .* does not match the recorded .*altered or replaced",
    error=PackageError,
)
def _package_checksum(bench: Bench) -> Iterator[Settings]:
    with file_changed(bench.champion_dir / "model.cbm", lambda data: data + b"\0"):
        yield bench.settings


def _edited_spec(data: bytes) -> bytes:
    manifest = json.loads(data)
    manifest["feature_spec"]["numeric"].append("turnover_in_24m")
    return json.dumps(manifest).encode()


@case(
    "package feature spec",
    r"the model's features do not match its manifest's feature spec \(spec only: \['turnover_in_24m'\]",
    error=PackageError,
)
def _package_spec(bench: Bench) -> Iterator[Settings]:
    """The manifest edited and the checksums recomputed to match: the spec check still catches it."""
    with (
        file_changed(bench.champion_dir / "checksums.json", lambda data: data),
        file_changed(bench.champion_dir / "manifest.json", _edited_spec),
    ):
        write_checksums(bench.champion_dir)
        yield bench.settings


@case("package for other features", r"needs features the data lacks: \['turnover_in_24m'\]", error=PackageError)
def _package_for_other_features(bench: Bench) -> Iterator[Settings]:
    """A consistent package (checksum and spec true), trained by a code version whose snapshot had another column."""
    settings = replace(bench.settings, registry_url=str(bench.folder / f"registry-{uuid.uuid4().hex[:8]}"))
    shutil.copytree(registry_folder(bench.settings), registry_folder(settings))
    promote_champion(bench.engine, settings, TRAIN_MONTHS, "other-features", extra_feature="turnover_in_24m", gini=0.9)
    yield settings


def build_bench(kind: str, engine: Engine, settings: Settings, folder: Path) -> Bench:
    """Train and promote the champion, publish the previous month and a clean REPORT_DATE."""
    promote_champion(engine, settings, TRAIN_MONTHS, CHAMPION)
    monthly.run_month(settings, PREVIOUS_MONTH, "baseline-previous")
    monthly.run_month(settings, REPORT_DATE, "baseline")
    baseline = f"{monthly.run_folder(settings, REPORT_DATE, 'baseline')}/snapshot_{WHOLE.label}.parquet"
    eligible = tuple(int(i) for i in pd.read_parquet(baseline)["client_id"])
    return Bench(kind, engine, settings, folder, baseline, eligible)
