"""Write the features mart's wide SQL files from schema.FEATURE_MEASURES (the one place naming them).

``sql/marts/features_sums.sql``, ``features_sums_direct.sql``, ``features_insert.sql`` and
``snapshot_features.sql`` name 60 window columns each; writing them by hand invites a missed
column. Run after changing the measures: ``python scripts/features_sql.py``;
``tests/test_sql_files.py`` checks the files are what this writes.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rko_model import columns as col  # noqa: E402
from rko_model.warehouse.schema import FEATURE_MEASURES  # noqa: E402

WINDOWS = col.WINDOWS
_NONE = {"count": "0", "sum": "NULL", "max": "NULL"}
_AGG = {"count": "SUM", "sum": "SUM", "max": "MAX"}

_COMPOSED_HEAD = """-- The features' window sums of report month month_end for every candidate client (the temporary
-- table snapshot_eligible of the build: eligible at month_end before the OKVED exclusions, see
-- candidate_params in rko_model/stages/marts.py), composed instead of re-summing 12 monthly rows:
-- the months month_end, month_end - 1 and month_end - 2 (mart_client_month), the 3 months before
-- them (the 3m sums of the row of month_end - 3 months) and the 6 months before those (the 6m sums
-- of the row of month_end - 6 months). A candidate without a row in those earlier features (not a
-- candidate then) has those months summed from its monthly rows instead. Sums of whole kopecks and
-- counts are exact in any grouping, and SUM and MAX skip NULL as the 12-month query does, so every
-- figure equals the direct sum (tests/stages/test_marts.py). A column that a row does not feed is 0
-- for counts and NULL for the sums and maxima that are NULL without a value; a candidate without
-- activity has a row of zeros. Into the temporary table mart_build_sums, which features_insert.sql
-- joins to the counterparties and the text: the sums need not wait for the counterparties, which
-- are counted beside them (rko_model/stages/marts.py: build_features).
-- Written by scripts/features_sql.py."""

_DIRECT_HEAD = """-- The features' window sums of report month month_end for every candidate client (the temporary
-- table snapshot_eligible of the build), summed directly from the twelve monthly rows: the build's
-- path when the features of 3 or 6 months before are not built (features_sums.sql composes them
-- instead, reading five rows per client). Same columns and figures, into the temporary table
-- mart_build_sums.
-- Written by scripts/features_sql.py."""

_INSERT_HEAD = """-- The month's features: the window sums of every candidate (mart_build_sums: features_sums.sql or
-- features_sums_direct.sql), its distinct counterparties of 12 months (the scratch table
-- mart_build_counterparties: features_counterparties.sql; 0 without any) and its payment text (the
-- temporary table mart_build_text: features_text.sql; NULL without any).
-- Written by scripts/features_sql.py."""

_READ_HEAD = """-- The account, payment, digital and text features of report_date for the eligible clients, read
-- from the features mart (mart_client_features, built when the month closed: features_insert.sql):
-- the same figures as sql/snapshot/account.sql, payments.sql, payment_text.sql and digital.sql.
-- Money was summed in kopecks; a balance average divides the sum by the count of balances.
-- In client-id order, as the eligible clients are read: the snapshot then takes the columns as
-- they are instead of aligning them (rko_model/stages/snapshot.py: assemble_snapshot).
-- Written by scripts/features_sql.py."""


def _columns() -> list[str]:
    return [f"{m}_{w}m" for m, _ in FEATURE_MEASURES for w in WINDOWS]


#: Every member reads the build's candidates only.
_CANDIDATE = "IN (SELECT el.client_id FROM snapshot_eligible AS el)"


def _member(exprs: list[str], source: str, where: str, candidates: bool = True) -> list[str]:
    """One SELECT of the union; ``candidates``: restricted to the build's candidates (the build's own
    temporary tables hold candidates only)."""
    lines = ["    SELECT"]
    lines += [f"        {e}," for e in exprs[:-1]] + [f"        {exprs[-1]}"]
    lines += [f"    FROM {source}", f"    WHERE {where}"]
    return [*lines, f"      AND {source.rsplit(' ', 1)[-1]}.client_id {_CANDIDATE}"] if candidates else lines


def _value(measure: str) -> str:
    return "1" if measure == "months" else f"m.{measure}"


def _when(condition: str, measure: str, kind: str) -> str:
    otherwise = " ELSE 0" if kind == "count" else ""
    return f"CASE WHEN {condition} THEN {_value(measure)}{otherwise} END"


def _carried(measure: str, kind: str, window: int, source: int) -> str:
    """A column of the features of ``source`` months before: its own window feeds the longer ones."""
    feeds = (6, 12) if source == 3 else (12,)
    return f"f.{measure}_{source}m" if window in feeds else _NONE[kind]


def _sums(head: str, members: list[list[str]]) -> str:
    """The window sums of every candidate, as the temporary table mart_build_sums."""
    lines = [head, "CREATE TEMPORARY TABLE mart_build_sums AS", "SELECT", "    u.client_id,"]
    aggregates = [f"{_AGG[k]}(u.{m}_{w}m) AS {m}_{w}m" for m, k in FEATURE_MEASURES for w in WINDOWS]
    lines += [f"    {a}," for a in aggregates[:-1]] + [f"    {aggregates[-1]}", "FROM ("]
    for i, member in enumerate(members):
        lines += (["    UNION ALL"] if i else []) + member
    lines += [") AS u", "GROUP BY u.client_id"]
    return "\n".join(lines) + "\n"


def _blank_member() -> list[str]:
    """A row of zeros for every candidate: a candidate without activity has its row too."""
    blank = [_NONE[k] for _, k in FEATURE_MEASURES for _ in WINDOWS]
    return _member(["e.client_id", *blank], "snapshot_eligible AS e", "e.client_id IS NOT NULL", candidates=False)


def _direct(measure: str, kind: str, window: int) -> str:
    """A monthly row's value in ``window``: whether its month falls in it."""
    return _value(measure) if window == 12 else _when(f"m.month_end > :start_{window}m", measure, kind)


def _monthly_rows(column: Callable[[str, str, int], str], months: int) -> list[str]:
    """The union's first member: the last ``months`` monthly rows, ``column(measure, kind, window)`` each."""
    columns = [f"{column(m, k, w)} AS {m}_{w}m" for m, k in FEATURE_MEASURES for w in WINDOWS]
    return _member(
        ["m.client_id", *columns],
        "mart_client_month AS m",
        f"m.month_end > :start_{months}m\n      AND m.month_end <= :month_end",
    )


def composed() -> str:
    """features_sums.sql: three monthly rows and the features of 3 and 6 months before.

    A candidate missing from those features has their months summed from its monthly rows.
    """
    rows = _monthly_rows(lambda m, k, w: _when("m.month_end = :month_end", m, k) if w == 1 else _value(m), 3)
    earlier, missing = [], []
    for source, span in ((3, 6), (6, 12)):
        carried = [_carried(m, k, w, source) for m, k in FEATURE_MEASURES for w in WINDOWS]
        earlier.append(
            _member(["f.client_id", *carried], "mart_client_features AS f", f"f.month_end = :start_{source}m")
        )
        absent = f"(SELECT a.client_id FROM mart_client_features AS a WHERE a.month_end = :start_{source}m)"
        missing.append(
            _member(
                ["m.client_id", *(_direct(m, k, w) for m, k in FEATURE_MEASURES for w in WINDOWS)],
                "mart_client_month AS m",
                f"m.month_end > :start_{span}m\n      AND m.month_end <= :start_{source}m"
                f"\n      AND m.client_id NOT IN {absent}",
            )
        )
    return _sums(_COMPOSED_HEAD, [rows, *earlier, *missing, _blank_member()])


def direct() -> str:
    """features_sums_direct.sql: the twelve monthly rows."""
    return _sums(_DIRECT_HEAD, [_monthly_rows(_direct, 12), _blank_member()])


def insert() -> str:
    """features_insert.sql: the sums, the counterparties and the text, one row per candidate."""
    cols = _columns()
    lines = [_INSERT_HEAD, "INSERT INTO mart_client_features (", "    month_end, client_id,"]
    lines += [f"    {', '.join(cols[i : i + 4])}," for i in range(0, len(cols), 4)]
    lines += ["    counterparties_12m, payment_text", ")", "SELECT", "    :month_end,", "    s.client_id,"]
    lines += [f"    {', '.join(f's.{c}' for c in cols[i : i + 4])}," for i in range(0, len(cols), 4)]
    lines += [
        "    COALESCE(c.counterparties_12m, 0),",
        "    t.payment_text",
        "FROM mart_build_sums AS s",
        "LEFT JOIN mart_build_counterparties AS c",
        "    ON c.month_end = :month_end",
        "   AND c.client_id = s.client_id",
        "LEFT JOIN mart_build_text AS t",
        "    ON t.client_id = s.client_id",
    ]
    return "\n".join(lines) + "\n"


def snapshot_read() -> str:
    """snapshot_features.sql: the snapshot's features from the state columns."""
    features = [f"f.balance_kop_{w}m * 1.0 / (100 * NULLIF(f.balance_n_{w}m, 0)) AS balance_avg_{w}m" for w in WINDOWS]
    features += [f"f.{m}_kop_{w}m / 100.0 AS {m}_{w}m" for m in ("turnover_in", "turnover_out") for w in WINDOWS]
    features.append("f.account_rows_12m AS account_months_12m")
    for d in ("in", "out"):
        features += [f"f.pay_{d}_cnt_{w}m AS pay_{d}_cnt_{w}m" for w in WINDOWS]
        features += [f"f.pay_{d}_kop_{w}m / 100.0 AS pay_{d}_sum_{w}m" for w in WINDOWS]
    features += ["f.pay_max_amount_12m AS pay_max_amount_12m", "f.counterparties_12m"]
    features += [f"f.{m}_{w}m AS {m}_{w}m" for m in col.DIGITAL_STEMS for w in WINDOWS]
    features.append("f.payment_text")
    lines = [_READ_HEAD, "SELECT", "    f.client_id,"]
    lines += [f"    {e}," for e in features[:-1]] + [f"    {features[-1]}"]
    lines += [
        "FROM mart_client_features AS f",
        "WHERE f.month_end = :report_date",
        "  AND f.client_id IN (SELECT el.client_id FROM snapshot_eligible AS el)",
        "ORDER BY f.client_id",
    ]
    return "\n".join(lines) + "\n"


FILES = {
    "marts/features_sums.sql": composed,
    "marts/features_sums_direct.sql": direct,
    "marts/features_insert.sql": insert,
    "marts/snapshot_features.sql": snapshot_read,
}


def main() -> None:
    for name, render in FILES.items():
        (ROOT / "sql" / name).write_text(render(), encoding="utf-8")
        print(f"wrote sql/{name}")


if __name__ == "__main__":
    main()
