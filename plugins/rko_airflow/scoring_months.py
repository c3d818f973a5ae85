"""Which months a scoring run covers, and the catch-up of feature marts events that no run consumed.

Airflow (3.3) does not create one run per Asset event. An event queues its consumer DAG in
``asset_dag_run_queue``, one row per Asset and consumer (a second event of the same Asset
finds the row and adds nothing, ``ON CONFLICT DO NOTHING``); the scheduler creates one run for
the queued rows, hands it every event of the DAG's Assets from the previous Asset-triggered
run up to the queue row's time (its ``run_after``), and deletes the row. So:

1. the marts of several months that land together may trigger one run: the run scores each
   month its triggering marts events name, oldest first, each month published in its own
   transaction under its own run id (:func:`rko_model.run_ids.month_run_id`);
2. an event that lands after the queue row was written but before the run is created is in
   no run's window and leaves no queue row: no run consumes it (a two-month marts backfill
   lost October so). The run's ``catch_up`` task finds such events (newer than the run's
   trigger, consumed by no scoring run) and emits :data:`~rko_airflow.assets.MARTS_CATCH_UP`,
   on which the DAG is scheduled too: the next run (after this one, ``max_active_runs=1``)
   has them in its window and consumes them.

Each marts event is so consumed by exactly one run, and each month it names is scored and
published once for it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any

from rko_airflow.assets import CHAMPION, MARTS_CATCH_UP
from rko_airflow.context import month_closed_before, report_date_of
from rko_airflow.marts_asset import FEATURE_MARTS, REPORT_DATE_KEY

log = logging.getLogger(__name__)

#: The key of the waiting months (ISO month ends) in a catch-up event's ``extra``.
REPORT_DATES_KEY = "report_dates"
#: How far before its trigger a run looks for marts events that no run consumed and none will (to name them).
STRANDED_LOOKBACK = dt.timedelta(days=1)
#: ``DagRun.run_type`` of a run the scheduler created for Asset events.
ASSET_TRIGGERED = "asset_triggered"


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
    if not assets and _run_type(context) != ASSET_TRIGGERED:
        return [report_date_of(context)]
    months = set(marts_months(events))
    if any(_uri(asset) == CHAMPION.uri for asset in assets):
        months.add(month_closed_before(context["dag_run"].run_after))
    return sorted(months)


def marts_months(events: Any) -> list[dt.date]:
    """The months named by the feature marts' events among a run's triggering events, as given (repeats kept)."""
    months = []
    for asset in events:
        if _uri(asset) != FEATURE_MARTS.uri:
            continue
        for event in events[asset]:
            value = (event.extra or {}).get(REPORT_DATE_KEY)
            if value:
                months.append(dt.date.fromisoformat(str(value)))
    return months


def unconsumed_events(events: Iterable[Any], dag_id: str, run_after: dt.datetime) -> tuple[list[Any], list[Any]]:
    """The events that no run of ``dag_id`` consumed: (waiting, stranded).

    Waiting events are newer than ``run_after`` (the run's trigger): the next Asset-triggered
    run's window holds them. Stranded ones are not newer, so no later window holds them: only
    a run by hand scores their month.
    """
    unconsumed = [e for e in events if not any(run.dag_id == dag_id for run in (e.created_dagruns or ()))]
    waiting = [e for e in unconsumed if e.timestamp > run_after]
    stranded = [e for e in unconsumed if e.timestamp <= run_after]
    return waiting, stranded


def catch_up_marts(context: Any) -> list[str]:
    """The ``catch_up`` task: emit :data:`MARTS_CATCH_UP` when marts events wait that no run consumed.

    Returns the waiting months (ISO); skips the task (no event is emitted) when none waits,
    and in runs not triggered by Assets (their ``run_after`` bounds no Asset window).
    """
    from airflow.sdk.exceptions import AirflowSkipException

    run = context["dag_run"]
    if _run_type(context) != ASSET_TRIGGERED:
        raise AirflowSkipException("not an Asset-triggered run: no marts event can have missed it")
    since = run.run_after - STRANDED_LOOKBACK
    recent = list(context["inlet_events"][FEATURE_MARTS].after(since.isoformat()))
    waiting, stranded = unconsumed_events(recent, run.dag_id, run.run_after)
    for event in stranded:
        month = (event.extra or {}).get(REPORT_DATE_KEY)
        log.error(
            "the feature marts event %s of %s (at %s) was consumed by no scoring run and no later run will: "
            "score %s by hand (`airflow dags test %s <the 1st of the month after>`)",
            event.id,
            month,
            event.timestamp,
            month,
            run.dag_id,
        )
    if not waiting:
        raise AirflowSkipException("every feature marts event was consumed by a scoring run")
    months = sorted({str((e.extra or {}).get(REPORT_DATE_KEY)) for e in waiting})
    log.info("marts events of %s wait for a scoring run: the next run consumes them", ", ".join(months))
    context["outlet_events"][MARTS_CATCH_UP].extra = {REPORT_DATES_KEY: months}
    return months


def _uri(asset: Any) -> str | None:
    return getattr(asset, "uri", None)


def _run_type(context: Any) -> str | None:
    run_type = getattr(context.get("dag_run"), "run_type", None)
    return None if run_type is None else str(getattr(run_type, "value", run_type))
