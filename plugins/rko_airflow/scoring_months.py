"""Which months a scoring run covers, and the catch-up of feature marts events that no run consumed.

Airflow does not create one run per Asset event (:mod:`rko_airflow.asset_catch_up` has the
mechanism). So:

1. the marts of several months that land together may trigger one run: the run scores each
   month its triggering marts events name, oldest first, each month published in its own
   transaction under its own run id (:func:`rko_model.common.run_ids.month_run_id`);
2. an event that lands after the queue row was written but before the run is created is in
   no run's window and leaves no queue row (a two-month marts backfill lost October so): the
   run's ``catch_up`` task finds such events and emits
   :data:`~rko_airflow.assets.MARTS_CATCH_UP`, on which the DAG is scheduled too; the next run
   (after this one, ``max_active_runs=1``) has them in its window and consumes them.

Each marts event is so consumed by exactly one run, and each month it names is scored and
published once for it.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from rko_airflow.asset_catch_up import ASSET_TRIGGERED, catch_up, run_type
from rko_airflow.assets import CHAMPION, MARTS_CATCH_UP
from rko_airflow.context import month_closed_before, report_date_of
from rko_airflow.marts_asset import FEATURE_MARTS, REPORT_DATE_KEY
from rko_model.common.dates import parse_report_date

log = logging.getLogger(__name__)


def months_of_run(context: Any) -> list[dt.date]:
    """The months a scoring run scores, oldest first, each once (as month ends).

    - a run triggered by Asset events: every month named by its feature marts events, and the
      last month closed before the run was triggered when a new champion is among them (it
      re-scores the latest month); a run triggered only by a catch-up event scores nothing
      itself (the marts events in its window name the months);
    - any other run (manual, ``dags test``, scheduled): its one month (:func:`report_date_of`).
    """
    events = context.get("triggering_asset_events") or {}
    assets = [asset for asset in events if events[asset]]
    if not assets and run_type(context) != ASSET_TRIGGERED:
        return [report_date_of(context)]
    months = set(marts_months(events))
    if any(_uri(asset) == CHAMPION.uri for asset in assets):
        months.add(month_closed_before(context["dag_run"].run_after))
    return sorted(months)


def marts_months(events: Any) -> list[dt.date]:
    """The months named by the feature marts' events among a run's triggering events, as given (repeats kept).

    An event that names no month (one created by hand in the UI or the API, without the
    ``extra`` that ``rko_feature_marts`` writes) scores nothing: it is logged, not guessed.
    """
    months = []
    for asset in events:
        if _uri(asset) != FEATURE_MARTS.uri:
            continue
        for event in events[asset]:
            value = (event.extra or {}).get(REPORT_DATE_KEY)
            if value:  # a month that is not a month end is an InvalidInputError (permanent), one line
                months.append(parse_report_date(str(value)))
            else:
                log.warning(
                    "the feature marts event %s names no month (extra %r lacks %r): nothing scored for it; "
                    "score a month by hand with `airflow dags test rko_monthly_scoring <rko logical-date>`",
                    getattr(event, "id", None),
                    event.extra,
                    REPORT_DATE_KEY,
                )
    return months


def catch_up_marts(context: Any) -> list[str]:
    """The scoring DAG's ``catch_up`` task: :func:`rko_airflow.asset_catch_up.catch_up` for the marts' events."""
    return catch_up(context, watched=FEATURE_MARTS, signal=MARTS_CATCH_UP, month_key=REPORT_DATE_KEY)


def _uri(asset: Any) -> str | None:
    return getattr(asset, "uri", None)
