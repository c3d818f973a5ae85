"""Is the month loaded? The readiness rule checked before a month is extracted and scored.

Real loads land days late (account aggregates of month M often around the 5th of M+1), and a
run on a partly loaded month would publish a wrong list without complaint. Each dated source
must hold, for the report month, at least a share of the rows it holds for the month before
(docs/data_contract.md, "Readiness"). A source whose previous month holds too few rows to
judge a share (a small bank's product events) is not judged.

A plain library function: the scoring DAG's sensor, ``rko score`` and any other job that must
run "after the readiness check" (e.g. monthly marts) call :func:`check_readiness`.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import pandas as pd
from sqlalchemy.engine import Engine

from rko_model.common.dates import add_months
from rko_model.errors import IncompleteDataError
from rko_model.settings import Settings
from rko_model.stages.snapshot import check_report_date
from rko_model.warehouse.backends import backend_for
from rko_model.warehouse.engine import make_engine
from rko_model.warehouse.query import read_frame

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceRule:
    """A source is complete for month M when its rows dated in M reach ``min_share`` of those in M-1."""

    table: str
    date_column: str
    min_share: float
    #: Below this many rows in M-1 the share says nothing (a small bank's events): not judged.
    min_previous_rows: int = 100


#: The documented rule, one line per dated source (docs/data_contract.md, "Readiness").
#: The shares leave room for seasonality: payments fall ~20% from December to January.
RULES: tuple[SourceRule, ...] = (
    SourceRule("account_monthly", "month_end", 0.9),
    SourceRule("digital_activity", "month_end", 0.8),
    SourceRule("payments", "payment_date", 0.5),
    SourceRule("product_events", "open_date", 0.5),
)


@dataclass(frozen=True)
class SourceReadiness:
    """One source's rows in the report month and the month before, and the verdict."""

    table: str
    rows_month: int
    rows_previous: int
    min_share: float
    judged: bool

    @property
    def complete(self) -> bool:
        return not self.judged or self.rows_month >= self.min_share * self.rows_previous

    def describe(self) -> str:
        share = self.rows_month / self.rows_previous if self.rows_previous else 0.0
        return (
            f"{self.table} ({self.rows_month:,d} rows against {self.rows_previous:,d} the month before, "
            f"{share:.0%} < {self.min_share:.0%})"
        )


@dataclass(frozen=True)
class Readiness:
    """Every source's verdict for one report date."""

    report_date: dt.date
    sources: tuple[SourceReadiness, ...]

    @property
    def incomplete(self) -> tuple[str, ...]:
        """The tables that do not hold the month yet."""
        return tuple(s.table for s in self.sources if not s.complete)

    @property
    def ready(self) -> bool:
        return not self.incomplete

    def message(self) -> str:
        """One line naming the sources that do not hold the month yet (or saying all do)."""
        if self.ready:
            return f"every source holds {self.report_date.isoformat()}"
        missing = "; ".join(s.describe() for s in self.sources if not s.complete)
        return f"{self.report_date.isoformat()} is not completely loaded: {missing}"

    def as_ref(self) -> dict:
        """A small JSON-able summary for XCom and the run metrics."""
        return {
            "report_date": self.report_date.isoformat(),
            "ready": self.ready,
            "incomplete": list(self.incomplete),
            "rows": {s.table: [s.rows_month, s.rows_previous] for s in self.sources},
        }


def check_readiness(engine: Engine, settings: Settings, report_date: dt.date) -> Readiness:
    """Count each source's rows in ``report_date``'s month and the month before, and judge them."""
    backend = backend_for(engine)
    params = {
        "report_date": report_date,
        "previous_end": add_months(report_date, -1),
        "earlier_end": add_months(report_date, -2),
    }
    verdicts = []
    for rule in RULES:
        frame = read_frame(engine, backend.load_sql(settings.sql_dir, f"readiness/{rule.table}"), params)
        month, previous = (_count(frame, c) for c in ("rows_month", "rows_previous"))
        verdicts.append(
            SourceReadiness(rule.table, month, previous, rule.min_share, judged=previous >= rule.min_previous_rows)
        )
    readiness = Readiness(report_date, tuple(verdicts))
    log.info("readiness %s: %s", report_date, readiness.message())
    return readiness


def require_ready(engine: Engine, settings: Settings, report_date: dt.date) -> Readiness:
    """The readiness of ``report_date``; raises :class:`IncompleteDataError` naming the incomplete sources."""
    readiness = check_readiness(engine, settings, report_date)
    if not readiness.ready:
        raise IncompleteDataError(
            f"{readiness.message()}; wait for the loads, or score anyway with --force (recorded in the run metrics)"
        )
    return readiness


def deadline_of(settings: Settings, report_date: dt.date) -> dt.datetime:
    """When waiting for ``report_date``'s data ends: ``readiness_deadline_hours`` after the month closed (UTC)."""
    closed = dt.datetime.combine(report_date + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    return closed + dt.timedelta(hours=settings.readiness_deadline_hours)


def _count(frame: pd.DataFrame, column: str) -> int:
    if frame.empty or pd.isna(frame[column].iloc[0]):
        return 0
    return int(frame[column].iloc[0])


def month_readiness(settings: Settings, report_date: dt.date, *, force: bool = False) -> dict:
    """The month's readiness for the run metrics; refuses an incomplete month unless ``force``.

    The contract and the report date are checked first: a month missing altogether, or a broken
    view, is named as such rather than as an incomplete load.
    """
    engine = make_engine(settings.warehouse_url)
    try:
        check_report_date(engine, settings, report_date)
        if not force:
            return {**require_ready(engine, settings, report_date).as_ref(), "forced": False}
        readiness = check_readiness(engine, settings, report_date)
    finally:
        engine.dispose()
    if not readiness.ready:
        log.warning("scoring %s although it is not ready (--force): %s", report_date, readiness.message())
    return {**readiness.as_ref(), "forced": not readiness.ready}
