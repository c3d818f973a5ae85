import datetime as dt

import pytest

from rko_model.common.dates import add_months, month_end, month_ends, parse_report_date
from rko_model.errors import InvalidInputError


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (dt.date(2026, 6, 30), 1, dt.date(2026, 7, 31)),
        (dt.date(2026, 1, 31), 1, dt.date(2026, 2, 28)),
        (dt.date(2024, 1, 31), 1, dt.date(2024, 2, 29)),
        (dt.date(2026, 3, 31), -1, dt.date(2026, 2, 28)),
        (dt.date(2026, 2, 28), 12, dt.date(2027, 2, 28)),
        (dt.date(2026, 11, 30), 3, dt.date(2027, 2, 28)),
        (dt.date(2026, 1, 15), -13, dt.date(2024, 12, 15)),
        (dt.date(2026, 3, 30), -1, dt.date(2026, 2, 28)),
    ],
)
def test_add_months_keeps_month_ends(day: dt.date, months: int, expected: dt.date) -> None:
    assert add_months(day, months) == expected


def test_month_ends_are_consecutive_and_oldest_first() -> None:
    ends = month_ends(dt.date(2026, 3, 10), 4)
    assert ends == [dt.date(2025, 12, 31), dt.date(2026, 1, 31), dt.date(2026, 2, 28), dt.date(2026, 3, 31)]
    assert month_end(dt.date(2024, 2, 1)) == dt.date(2024, 2, 29)


def test_report_dates_are_month_ends() -> None:
    assert parse_report_date("2026-06-30") == dt.date(2026, 6, 30)
    assert parse_report_date(dt.datetime(2026, 6, 30, 12)) == dt.date(2026, 6, 30)
    with pytest.raises(InvalidInputError, match="did you mean 2026-06-30"):
        parse_report_date("2026-06-15")
    with pytest.raises(InvalidInputError, match="not an ISO date"):
        parse_report_date("30.06.2026")
