"""Validation of a monthly snapshot with Great Expectations, before anything is scored.

The suite is built in code and run in an ephemeral GX context (no GX project on disk; the
GX Airflow provider does not fit the pinned stack, so rko_model calls GX itself). Each
expectation carries a severity: a failed **critical** expectation stops the monthly run
before scoring and publishing; **warnings** are reported and the run goes on. The full
result is written as JSON for a person to open; the log gets a readable summary.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rko_model import columns as col
from rko_model.common.exclusions import OkvedExclusions
from rko_model.errors import ValidationError
from rko_model.storage.atomic import partial_path

log = logging.getLogger(__name__)

LEGAL_FORMS = ("ООО", "ИП", "АО", "ПАО")
#: Default tolerance of the row count against the previous month (a share, both ways).
ROW_COUNT_TOLERANCE = 0.3
#: Longest payment-purpose text before a warning (characters).
MAX_TEXT_CHARS = 20_000
#: Counts and a few unexpected values per expectation; no pandas index query (it copies the frame).
RESULT_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": 10, "return_unexpected_index_query": False}
#: The checked frame's stand-in for the payment text: its length in characters.
TEXT_CHARS = "payment_text_chars"


@dataclass(frozen=True)
class ValidationOutcome:
    """What the run needs to decide, and what a person needs to read."""

    report_date: str
    rows: int
    success: bool  # no critical expectation failed
    critical_failures: tuple[str, ...]
    warnings: tuple[str, ...]
    expectations: int
    result_path: str | None = None

    def summary(self) -> str:
        head = (
            f"validation of {self.report_date}: {self.rows:,d} rows, {self.expectations} expectations, "
            f"{len(self.critical_failures)} critical failures, {len(self.warnings)} warnings"
        )
        lines = [head]
        lines += [f"  CRITICAL {m}" for m in self.critical_failures]
        lines += [f"  warning  {m}" for m in self.warnings]
        if self.result_path:
            lines.append(f"  full result: {self.result_path}")
        return "\n".join(lines)

    def raise_for_critical(self) -> None:
        if not self.success:
            raise ValidationError(self.summary())


def _expected_kinds() -> dict[str, str]:
    kinds = {col.CLIENT_ID: "integer", col.REPORT_DATE: "datetime"}
    kinds.update({c: "string" for c in (*col.CATEGORICAL_FEATURES, *col.TEXT_FEATURES)})
    kinds.update({c: "float" for c in col.NUMERIC_FEATURES})
    return kinds


_KIND_CHECKS = {
    "integer": pd.api.types.is_integer_dtype,
    "float": pd.api.types.is_float_dtype,
    "string": lambda s: pd.api.types.is_string_dtype(s) or s.dtype == object,
    "datetime": pd.api.types.is_datetime64_any_dtype,
}


def schema_problems(frame: pd.DataFrame) -> list[str]:
    """Missing columns and wrong dtypes: checked first, since GX cannot run on a frame without them."""
    problems = []
    expected = _expected_kinds()
    for name, kind in expected.items():
        if name not in frame.columns:
            problems.append(f"column {name!r} is missing")
        elif not _KIND_CHECKS[kind](frame[name]):
            problems.append(f"column {name!r} has dtype {frame[name].dtype}, expected {kind}")
    unexpected = [c for c in frame.columns if c not in expected]
    if unexpected and len(problems):
        problems.append(f"unexpected columns {unexpected} (renamed?)")
    return problems


def with_client_facts(frame: pd.DataFrame, facts: pd.DataFrame, exclusions: OkvedExclusions) -> pd.DataFrame:
    """The snapshot plus independent facts (segment, liquidated, excluded OKVED, RKO held) to check."""
    facts = facts.drop_duplicates(col.CLIENT_ID).set_index(col.CLIENT_ID)
    out = frame.drop(columns=list(col.TEXT_FEATURES))  # shares the snapshot's columns (no copy of the month)
    joined = facts.reindex(out[col.CLIENT_ID].to_numpy())
    out["fact_known"] = joined["segment"].notna().to_numpy().astype(int)
    out["fact_segment"] = joined["segment"].fillna("").to_numpy()
    out["fact_liquidated"] = joined["liquidated"].fillna(0).to_numpy().astype(int)
    out["fact_holds_rko"] = joined["holds_rko"].fillna(0).to_numpy().astype(int)
    okved = joined["okved_code"].astype("string")
    excluded = okved.isin(list(exclusions.codes)) | okved.str[:2].isin(list(exclusions.classes))
    out["fact_okved_excluded"] = excluded.fillna(False).to_numpy().astype(int)
    # GX copies every column of the frame for each row-level expectation: the long text is checked
    # by its length, so that the copies stay small.
    out[TEXT_CHARS] = frame["payment_text"].str.len().fillna(0).to_numpy().astype(int)
    return out


#: Numeric features that may be missing for a client, but not for most: a mostly empty one warns.
#: ``months_since_last_product`` is missing by design for the many clients without other products,
#: ``months_since_contact`` for the many clients the bank never made an offer to.
NULLABLE_NUMERIC = tuple(
    c
    for c in col.NUMERIC_FEATURES
    if c not in col.ZERO_WHEN_ABSENT and c not in ("months_since_last_product", "months_since_contact")
)
#: Least share of known values of a nullable numeric feature before a warning.
MIN_KNOWN_SHARE = 0.5

#: What a failure of the independent eligibility re-check means, by checked column.
FACT_HINTS = {
    "fact_known": "clients in the snapshot that the clients table does not know",
    "fact_segment": "clients outside the SMB segment in the snapshot: the eligibility SQL (sql/snapshot/eligible.sql) "
    "or the clients view lets them through",
    "fact_liquidated": "liquidated companies in the snapshot: the eligibility SQL (sql/snapshot/eligible.sql) "
    "or the clients view lets them through",
    "fact_okved_excluded": "clients with an excluded OKVED code (see the exclusions file) in the snapshot: the "
    "eligibility SQL (sql/snapshot/eligible.sql) lets them through",
    "fact_holds_rko": "clients already holding RKO in the snapshot: the eligibility SQL (sql/snapshot/eligible.sql) "
    "or the product_events view lets them through",
}


def _hint(text: str, **meta: Any) -> dict[str, Any]:
    return {"hint": text, **meta}


def build_suite(  # type: ignore[no-untyped-def]
    previous_rows: int | None, tolerance: float = ROW_COUNT_TOLERANCE, *, empty: bool = False
):
    """The snapshot suite; ``previous_rows`` (the last validated month) bounds the row count.

    For an ``empty`` snapshot only the row counts are checked: every column check would fail
    too, and bury the one message that matters.
    """
    import great_expectations as gx

    items = _row_count_expectations(previous_rows, tolerance)
    if not empty:
        items += _column_expectations()
    # Passed whole: add_expectation compares each new item with every earlier one (quadratic).
    return gx.ExpectationSuite(name="rko_snapshot", expectations=items)


def _row_count_expectations(previous_rows: int | None, tolerance: float) -> list[Any]:
    import great_expectations as gx

    ex = gx.expectations
    items = [
        ex.ExpectTableRowCountToBeBetween(
            min_value=1,
            severity="critical",
            meta=_hint(
                "the snapshot is empty: no client is eligible at the report date (segment codes, the clients view "
                "or the eligibility SQL changed?)"
            ),
        )
    ]
    if previous_rows:
        items.append(
            ex.ExpectTableRowCountToBeBetween(
                min_value=int(previous_rows * (1 - tolerance)),
                max_value=int(np.ceil(previous_rows * (1 + tolerance))),
                severity="critical",
                meta=_hint(
                    f"the row count is off by more than {tolerance:.0%} from the previous month's {previous_rows:,d}: "
                    "a source table or view is incomplete, or eligibility changed",
                    previous_rows=previous_rows,
                    tolerance=tolerance,
                ),
            )
        )
    return items


def _column_expectations() -> list[Any]:
    """Keys, the independent eligibility re-check, value ranges and shares of known values.

    Row-level expectations copy the checked frame each, so the per-column checks are
    aggregates (a minimum, a share of known values) wherever one says the same.
    """
    import great_expectations as gx

    ex = gx.expectations
    critical, warning = "critical", "warning"
    items = [
        ex.ExpectColumnValuesToNotBeNull(
            column=col.CLIENT_ID,
            severity=critical,
            meta=_hint("rows without a client_id: the clients view returns null keys"),
        ),
        ex.ExpectColumnValuesToNotBeNull(column=col.REPORT_DATE, severity=critical),
        ex.ExpectCompoundColumnsToBeUnique(
            column_list=[col.CLIENT_ID, col.REPORT_DATE],
            severity=critical,
            meta=_hint("clients appear more than once: a contract view repeats rows (a join that fans out?)"),
        ),
    ]
    for column, hint in FACT_HINTS.items():
        allowed = [1] if column == "fact_known" else [col.SMB_SEGMENT] if column == "fact_segment" else [0]
        items.append(
            ex.ExpectColumnValuesToBeInSet(column=column, value_set=allowed, severity=critical, meta=_hint(hint))
        )
    items += [
        ex.ExpectColumnValuesToBeInSet(column="legal_form", value_set=list(LEGAL_FORMS), severity=critical),
        ex.ExpectColumnValuesToBeBetween(column="company_age_months", min_value=0, severity=critical),
        ex.ExpectColumnValuesToBeBetween(column="account_months_12m", min_value=0, max_value=12, severity=critical),
        ex.ExpectColumnValuesToMatchRegex(column="region_code", regex=r"^\d{2}$", mostly=0.99, severity=warning),
        ex.ExpectColumnValuesToMatchRegex(
            column="okved_code", regex=r"^\d{2}\.\d{1,2}(?:\.\d{1,2})?$", mostly=0.99, severity=warning
        ),
        ex.ExpectColumnMaxToBeBetween(
            column=TEXT_CHARS,
            max_value=MAX_TEXT_CHARS,
            severity=warning,
            meta=_hint(
                f"a client's payment text is longer than {MAX_TEXT_CHARS:,d} characters: some payment purpose is "
                "far longer than a payment order allows (210 characters); scored as it is"
            ),
        ),
        ex.ExpectColumnValuesToNotBeNull(column="legal_form", mostly=0.99, severity=warning),
    ]
    for name in col.ZERO_WHEN_ABSENT:  # a column's minimum costs one pass; a row-level check copies the frame
        items.append(ex.ExpectColumnMinToBeBetween(column=name, min_value=0, severity=critical))
        items.append(ex.ExpectColumnProportionOfNonNullValuesToBeBetween(column=name, min_value=1.0, severity=critical))
    for name in NULLABLE_NUMERIC:
        items.append(
            ex.ExpectColumnProportionOfNonNullValuesToBeBetween(
                column=name,
                min_value=MIN_KNOWN_SHARE,
                severity=warning,
                meta=_hint(
                    f"{name} is missing for more than {1 - MIN_KNOWN_SHARE:.0%} of the clients: its source column "
                    "in the warehouse is mostly empty; the model scores with it missing"
                ),
            )
        )
    return items


def _present(value: Any) -> bool:
    """Whether an observed figure is worth showing (numpy scalars do not compare with ``[]``)."""
    return value is not None and not (isinstance(value, list | tuple) and not value)


def _plain(value: Any) -> Any:
    """numpy scalars as Python numbers, floats rounded: what a person reads in the summary."""
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    return round(value, 4) if isinstance(value, float) else value


def _describe(result: Any, checked: pd.DataFrame) -> str:
    config = result.expectation_config
    kwargs = {k: v for k, v in config.kwargs.items() if k not in ("batch_id",)}
    observed = {
        k: _plain(result.result[k])
        for k in ("observed_value", "unexpected_count", "partial_unexpected_list")
        if _present(result.result.get(k))
    }
    if result.exception_info and result.exception_info.get("raised_exception"):
        observed = {"error": result.exception_info.get("exception_message")}
    hint = (config.meta or {}).get("hint")
    examples = _example_clients(config, checked)
    head = f"{hint}{examples}: " if hint else ""
    return f"{head}{config.type} {kwargs} -> {observed}"


def _example_clients(config: Any, checked: pd.DataFrame) -> str:
    """A few offending client ids for the failures a person looks up by client (computed on failure only)."""
    ids = checked[col.CLIENT_ID]
    column = config.kwargs.get("column")
    if column in FACT_HINTS:
        ids = ids[~checked[column].isin(config.kwargs["value_set"])]
    elif config.type == "expect_compound_columns_to_be_unique":
        ids = ids[ids.duplicated()]
    else:
        return ""
    shown = sorted({int(i) for i in ids.dropna().head(5)})
    return f" (e.g. clients {', '.join(map(str, shown))})" if shown else ""


def import_gx():  # type: ignore[no-untyped-def]
    """Great Expectations, imported on first use (about 2 s): a caller may do it while it waits on I/O."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx

    return gx


def validate_snapshot(
    frame: pd.DataFrame,
    facts: pd.DataFrame,
    exclusions: OkvedExclusions,
    report_date: str,
    previous_rows: int | None = None,
    tolerance: float = ROW_COUNT_TOLERANCE,
    artifact_dir: Path | None = None,
    extra_warnings: Sequence[str] = (),
    extra_critical: Sequence[str] = (),
    warehouse_checks: Callable[[], tuple[Sequence[str], Sequence[str]]] | None = None,
) -> ValidationOutcome:
    """Run the suite on ``frame``; write the full result under ``artifact_dir`` when given.

    ``extra_warnings`` and ``extra_critical`` come from checks of the warehouse rather than of
    the frame (events dated after the latest complete month; overlapping attribute history;
    infinite or impossible source values) and join the outcome's warnings and critical failures.
    ``warehouse_checks``, when given, returns more of them (warnings, critical); it is called once
    the suite has run, so that a caller's checks in other threads run while GX does.
    """
    problems = schema_problems(frame)
    if problems:
        more_warnings, more_critical = warehouse_checks() if warehouse_checks else ((), ())
        critical = (*extra_critical, *more_critical, *problems)
        outcome = ValidationOutcome(
            report_date, len(frame), False, critical, (*extra_warnings, *more_warnings), len(problems)
        )
        return _write(outcome, {"schema_problems": problems}, artifact_dir)
    gx = import_gx()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch_definition = (
        context.data_sources.add_pandas("rko")
        .add_dataframe_asset("snapshot")
        .add_batch_definition_whole_dataframe("month")
    )
    suite = context.suites.add(build_suite(previous_rows, tolerance, empty=frame.empty))
    checked = with_client_facts(frame, facts, exclusions)
    batch = batch_definition.get_batch(batch_parameters={"dataframe": checked})
    result = batch.validate(suite, result_format=RESULT_FORMAT)
    critical, warnings = list(extra_critical), list(extra_warnings)
    if warehouse_checks is not None:
        more_warnings, more_critical = warehouse_checks()
        warnings += more_warnings
        critical += more_critical
    for item in result.results:
        if item.success:
            continue
        severity = str(getattr(item.expectation_config, "severity", "critical")).lower()
        (warnings if "warning" in severity or "info" in severity else critical).append(_describe(item, checked))
    outcome = ValidationOutcome(
        report_date=report_date,
        rows=len(frame),
        success=not critical,
        critical_failures=tuple(critical),
        warnings=tuple(warnings),
        expectations=len(result.results),
    )
    return _write(outcome, result.to_json_dict(), artifact_dir)


def _write(outcome: ValidationOutcome, payload: dict[str, Any], artifact_dir: Path | None) -> ValidationOutcome:
    level = logging.ERROR if not outcome.success else logging.WARNING if outcome.warnings else logging.INFO
    if artifact_dir is None:
        log.log(level, "%s", outcome.summary())
        return outcome
    artifact_dir.mkdir(parents=True, exist_ok=True)
    path = artifact_dir / f"validation_{outcome.report_date}.json"
    document = {"outcome": dict(outcome.__dict__), "gx_result": payload}
    with partial_path(path) as partial:
        partial.write_text(json.dumps(document, indent=1, ensure_ascii=False, default=str), encoding="utf-8")
    outcome = ValidationOutcome(**{**outcome.__dict__, "result_path": str(path)})
    log.log(level, "%s", outcome.summary())
    return outcome
