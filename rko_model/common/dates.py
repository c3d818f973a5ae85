"""Month arithmetic on report dates. Dates are computed here and bound as SQL parameters."""

from __future__ import annotations

import calendar
import datetime as dt

from rko_model.errors import InvalidInputError


def month_end(day: dt.date) -> dt.date:
    """Last day of ``day``'s month."""
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by ``months``; a month end stays a month end (30 Jun + 1 = 31 Jul)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    if day == month_end(day):
        return dt.date(year, month + 1, last)
    return dt.date(year, month + 1, min(day.day, last))


def month_ends(last: dt.date, count: int) -> list[dt.date]:
    """The ``count`` month ends up to and including ``last``'s month, oldest first."""
    end = month_end(last)
    return [add_months(end, -k) for k in range(count - 1, -1, -1)]


def parse_report_date(value: str | dt.date) -> dt.date:
    """A report date is the last day of a month: features see that whole month and nothing after."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value)
        except ValueError as exc:
            raise InvalidInputError(f"report date {value!r} is not an ISO date (YYYY-MM-DD)") from exc
    if value != month_end(value):
        raise InvalidInputError(
            f"report date {value.isoformat()} is not a month end; did you mean {month_end(value).isoformat()}?"
        )
    return value
