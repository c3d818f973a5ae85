"""The snapshot suite: a clean month passes; each kind of bad month fails critically or warns."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy.engine import Engine

from rko_model import columns as col
from rko_model.common.exclusions import load_exclusions
from rko_model.errors import ValidationError
from rko_model.settings import Settings
from rko_model.stages.snapshot import extract_client_facts, extract_snapshot
from rko_model.stages.validation import validate_snapshot

MONTH = "2026-04-30"


@pytest.fixture(scope="module")
def month(bank: Engine) -> tuple[pd.DataFrame, pd.DataFrame]:
    settings = Settings.from_env({"RKO_WAREHOUSE_URL": bank.url.render_as_string(hide_password=False)})
    import datetime as dt

    date = dt.date.fromisoformat(MONTH)
    snapshot = extract_snapshot(bank, date, settings)
    # Facts for the snapshot's clients and for every other client, so bad cases can borrow ids.
    from tests.helpers import table

    everyone = table(bank, "clients")["client_id"].to_numpy()
    return snapshot, extract_client_facts(bank, date, settings, everyone)


def _validate(frame: pd.DataFrame, facts: pd.DataFrame, **kwargs):  # type: ignore[no-untyped-def]
    exclusions = load_exclusions(Path(__file__).parents[2] / "config" / "okved_exclusions.txt")
    return validate_snapshot(frame, facts, exclusions, MONTH, **kwargs)


def test_a_clean_month_passes_and_writes_its_result(month, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    frame, facts = month
    outcome = _validate(frame, facts, previous_rows=len(frame), artifact_dir=tmp_path)
    assert outcome.success, outcome.summary()
    assert outcome.expectations > 40
    document = json.loads(Path(outcome.result_path).read_text(encoding="utf-8"))
    assert document["outcome"]["success"] is True and document["gx_result"]["success"] in (True, False)
    outcome.raise_for_critical()


def _other_client(facts: pd.DataFrame, frame: pd.DataFrame, **where: object) -> int:
    candidates = facts[~facts[col.CLIENT_ID].isin(frame[col.CLIENT_ID])]
    for key, value in where.items():
        candidates = candidates[candidates[key] == value]
    return int(candidates[col.CLIENT_ID].iloc[0])


@pytest.mark.parametrize(
    "case",
    [
        "duplicate",
        "null-id",
        "liquidated",
        "holds-rko",
        "excluded-okved",
        "not-smb",
        "shrunk",
        "negative-count",
        "bad-legal-form",
        "empty",
    ],
)
def test_critical_failures_stop_the_run(month, case: str) -> None:  # type: ignore[no-untyped-def]
    frame, facts = month
    bad = frame.copy()
    if case == "duplicate":
        bad = pd.concat([bad, bad.iloc[:1]], ignore_index=True)
    elif case == "null-id":
        bad[col.CLIENT_ID] = bad[col.CLIENT_ID].astype("Int64")
        bad.loc[0, col.CLIENT_ID] = pd.NA
    elif case in ("liquidated", "holds-rko", "not-smb"):
        column = {"liquidated": "liquidated", "holds-rko": "holds_rko", "not-smb": "segment"}[case]
        value = {"liquidated": 1, "holds-rko": 1, "not-smb": "MID"}[case]
        bad.loc[0, col.CLIENT_ID] = _other_client(facts, frame, **{column: value})
    elif case == "excluded-okved":
        facts = facts.copy()
        facts.loc[facts[col.CLIENT_ID] == bad.loc[0, col.CLIENT_ID], "okved_code"] = "64.19"
    elif case == "shrunk":
        bad = bad.iloc[: len(bad) // 10]
    elif case == "negative-count":
        bad.loc[0, "pay_in_cnt_3m"] = -1.0
    elif case == "bad-legal-form":
        bad.loc[0, "legal_form"] = "LLC"
    elif case == "empty":
        bad = bad.iloc[:0]
    outcome = _validate(bad, facts, previous_rows=len(frame))
    assert not outcome.success, case
    with pytest.raises(ValidationError, match="CRITICAL"):
        outcome.raise_for_critical()


def test_the_warehouse_checks_are_asked_after_the_suite_and_join_the_outcome(month) -> None:  # type: ignore[no-untyped-def]
    """``warehouse_checks`` runs once the suite has (its checks ran beside GX): its warnings warn, its
    critical failures fail the month; with a schema problem they are kept beside it."""
    frame, facts = month
    asked = []

    def checks() -> tuple[list[str], list[str]]:
        asked.append(True)
        return ["history gap"], ["history overlap"]

    outcome = _validate(frame, facts, previous_rows=len(frame), warehouse_checks=checks)
    assert asked == [True]
    assert not outcome.success and outcome.critical_failures == ("history overlap",)
    assert "history gap" in outcome.warnings
    broken = _validate(frame.drop(columns=["turnover_in_3m"]), facts, extra_critical=["inf"], warehouse_checks=checks)
    assert broken.critical_failures[:2] == ("inf", "history overlap")
    assert "column 'turnover_in_3m' is missing" in broken.critical_failures
    assert broken.critical_failures.count("inf") == 1 and "history gap" in broken.warnings


def test_schema_problems_are_named(month) -> None:  # type: ignore[no-untyped-def]
    frame, facts = month
    outcome = _validate(frame.drop(columns=["turnover_in_3m"]).rename(columns={"legal_form": "opf"}), facts)
    assert not outcome.success
    assert "column 'turnover_in_3m' is missing" in outcome.critical_failures
    assert "column 'legal_form' is missing" in outcome.critical_failures
    typed = frame.assign(pay_in_cnt_1m=frame["pay_in_cnt_1m"].astype(str))
    assert any("pay_in_cnt_1m" in m and "expected float" in m for m in _validate(typed, facts).critical_failures)


def test_warnings_do_not_stop_the_run(month) -> None:  # type: ignore[no-untyped-def]
    frame, facts = month
    odd = frame.copy()
    odd.loc[0, "payment_text"] = "Оплата " * 5000
    odd["headcount"] = np.nan
    odd.loc[: len(odd) // 20, "region_code"] = "XX"
    outcome = _validate(odd, facts, previous_rows=len(frame))
    assert outcome.success, outcome.summary()
    assert len(outcome.warnings) == 3, outcome.warnings
