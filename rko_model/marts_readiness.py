"""The hook the marts DAG runs before building a month: is the month ready to be built from?

Building a month's marts from a partly loaded month would store wrong aggregates until the
next rebuild. Where the project has a readiness check of the warehouse's month (issue 13:
``rko_model.readiness``), this is the one place that calls it; until then the check is the
one the snapshot makes: the month is complete in ``account_monthly`` and the contract holds.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging

from rko_model.settings import Settings
from rko_model.snapshot import check_report_date
from rko_model.warehouse.engine import make_engine

log = logging.getLogger(__name__)

#: The module and function of the project's readiness check, when it exists (called with settings and month).
READINESS = ("rko_model.readiness", "check_readiness")


def check_month_ready(settings: Settings, report_date: dt.date) -> None:
    """Raise (an RkoError saying what to do) when ``report_date``'s month is not ready to build marts from."""
    check_report_date(make_engine(settings.warehouse_url), settings, report_date)
    try:
        module = importlib.import_module(READINESS[0])
    except ModuleNotFoundError as exc:
        if exc.name != READINESS[0]:
            raise
        log.info("marts %s: no readiness check in this project; the month is complete in account_monthly", report_date)
        return
    check = getattr(module, READINESS[1], None)
    if check is None:
        log.warning("marts %s: %s has no %s(); only the completeness check ran", report_date, *READINESS)
        return
    check(settings, report_date)
