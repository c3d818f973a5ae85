"""Events dated after the warehouse's latest complete month: ignored by every snapshot, reported as a warning.

Every snapshot query reads rows dated on or before its report date, so a payment dated in
the future cannot leak into the features. Such rows still say that a load wrote wrong dates
(or a source runs ahead of the account aggregates), so the monthly validation counts them
and warns. The horizon is the latest complete month, not the report date: when an earlier
month is re-scored, the later months are history, not an error.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import pandas as pd
from sqlalchemy.engine import Engine

from rko_model.settings import Settings
from rko_model.stages.snapshot import data_end
from rko_model.warehouse.backends import backend_for
from rko_model.warehouse.query import read_frame

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LateEvents:
    """Rows of one source dated after the horizon."""

    source: str
    events: int
    latest: dt.date | None
    horizon: dt.date

    def message(self, report_date: dt.date) -> str:
        latest = self.latest.isoformat() if self.latest else "?"
        return (
            f"{self.events:,d} {'row' if self.events == 1 else 'rows'} of {self.source} "
            f"{'is' if self.events == 1 else 'are'} dated after {self.horizon.isoformat()}, the latest complete "
            f"month (up to {latest}): the snapshot of {report_date.isoformat()} ignores them; check the load's dates"
        )


def late_events(engine: Engine, settings: Settings, report_date: dt.date) -> list[LateEvents]:
    """Sources holding events after the latest complete month (or after ``report_date`` if that is later).

    The sources' latest dates come first (cheap); only when one is after the report date (a
    re-scored earlier month, or a wrong date) is the latest complete month looked up, which
    reads all of ``account_monthly``, and the late rows counted.
    """
    backend = backend_for(engine)
    latest = read_frame(
        engine,
        backend.load_sql(settings.sql_dir, "validation/latest_events"),
        {},
        {"payments": "date", "product_events": "date"},
    )
    dates = [pd.Timestamp(v).date() for v in latest.iloc[0] if not pd.isna(v)] if len(latest) else []
    if not any(day > report_date for day in dates):
        return []
    end = data_end(engine, settings)
    horizon = max(end, report_date) if end else report_date
    sql = backend.load_sql(settings.sql_dir, "validation/late_events")
    frame = read_frame(engine, sql, {"horizon": horizon}, {"source": "str", "events": "int", "latest": "date"})
    out = []
    for row in frame.itertuples(index=False):
        if int(row.events) > 0:
            latest = None if pd.isna(row.latest) else pd.Timestamp(row.latest).date()
            out.append(LateEvents(str(row.source), int(row.events), latest, horizon))
    return out
