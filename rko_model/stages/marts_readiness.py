"""The check the marts DAG runs before building a month: is the month loaded?

Building a month's marts from a partly loaded month would store wrong aggregates until the
next rebuild, so the month must pass the snapshot's completeness check (the month is complete
in ``account_monthly``, the contract holds) and the warehouse's readiness rule
(:mod:`rko_model.stages.readiness`: every dated source holds its documented share of the month).
"""

from __future__ import annotations

import datetime as dt
import logging

from rko_model.settings import Settings
from rko_model.stages.readiness import month_readiness

log = logging.getLogger(__name__)


def check_month_ready(settings: Settings, report_date: dt.date) -> None:
    """Raise (an RkoError saying what to do) when ``report_date``'s month is not ready to build marts from."""
    readiness = month_readiness(settings, report_date)  # the same check `rko score` makes
    log.info("marts %s: the month is loaded (%s sources judged)", report_date, len(readiness.get("sources", [])))
