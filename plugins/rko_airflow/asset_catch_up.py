"""The Asset events that no run of their consumer consumed, and the catch-up Asset that gets them one.

Airflow (3.3) does not create one run per Asset event. An event queues each consumer DAG in
``asset_dag_run_queue``, one row per Asset and consumer (a second event of the same Asset
finds the row and adds nothing: ``ON CONFLICT DO NOTHING``). The scheduler creates one run for
a DAG's queued rows (not while it is at ``max_active_runs``), hands it every event of the
DAG's Assets after the previous Asset-triggered run's ``run_after`` and up to the newest queue
row's time (the new run's ``run_after``), and deletes the rows. So an event that lands after
the queue row was written but before the run is created lies beyond that run's window and
leaves no queue row: no run consumes it, until some other event triggers the DAG again.

A consumer's ``catch_up`` task (:func:`catch_up`) looks at the watched Asset's recent events:
those newer than its run's ``run_after`` that no run of the DAG consumed wait for a run, so it
emits a catch-up Asset on which the DAG is scheduled too; the next run (after this one) has
them in its window and consumes them. Events consumed by no run and not newer than the run's
trigger are in no later window: they are logged as errors, naming the month, for a run by hand.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any

log = logging.getLogger(__name__)

#: The key of the waiting months (ISO month ends) in a catch-up event's ``extra``.
REPORT_DATES_KEY = "report_dates"
#: How far before its trigger a run looks for events that no run consumed and none will (to name them).
STRANDED_LOOKBACK = dt.timedelta(days=1)
#: ``DagRun.run_type`` of a run the scheduler created for Asset events.
ASSET_TRIGGERED = "asset_triggered"


def unconsumed_events(events: Iterable[Any], dag_id: str, run_after: dt.datetime) -> tuple[list[Any], list[Any]]:
    """The events that no run of ``dag_id`` consumed: (waiting, stranded).

    Waiting events are newer than ``run_after`` (the run's trigger): the next Asset-triggered
    run's window holds them. Stranded ones are not newer, so no later window holds them.
    """
    unconsumed = [e for e in events if not any(run.dag_id == dag_id for run in (e.created_dagruns or ()))]
    waiting = [e for e in unconsumed if e.timestamp > run_after]
    stranded = [e for e in unconsumed if e.timestamp <= run_after]
    return waiting, stranded


def catch_up(context: Any, *, watched: Any, signal: Any, month_key: str = "report_date") -> list[str]:
    """A ``catch_up`` task: emit ``signal`` when events of ``watched`` wait that no run of this DAG consumed.

    Returns the waiting months (ISO, the events' ``extra[month_key]``); skips the task, so no
    event is emitted, when none waits and in runs not triggered by Assets (their ``run_after``
    bounds no Asset window). The task needs ``inlets=[watched]`` and ``outlets=[signal]``.
    """
    from airflow.sdk.exceptions import AirflowSkipException

    run = context["dag_run"]
    if run_type(context) != ASSET_TRIGGERED:
        raise AirflowSkipException("not an Asset-triggered run: no Asset event can have missed it")
    since = run.run_after - STRANDED_LOOKBACK
    recent = list(context["inlet_events"][watched].after(since.isoformat()))
    waiting, stranded = unconsumed_events(recent, run.dag_id, run.run_after)
    for event in stranded:
        log.error(
            "the event %s of %s (%s, at %s) was consumed by no run of %s and no later run will: run %s by hand for %s",
            event.id,
            watched.uri,
            (event.extra or {}).get(month_key),
            event.timestamp,
            run.dag_id,
            run.dag_id,
            (event.extra or {}).get(month_key),
        )
    if not waiting:
        raise AirflowSkipException(f"every event of {watched.uri} was consumed by a run of {run.dag_id}")
    months = sorted({str((e.extra or {}).get(month_key)) for e in waiting})
    log.info("events of %s (%s) wait for a run: the next run consumes them", watched.uri, ", ".join(months))
    context["outlet_events"][signal].extra = {REPORT_DATES_KEY: months}
    return months


def run_type(context: Any) -> str | None:
    """The run's ``DagRun.run_type`` as text (None in a context made by hand)."""
    value = getattr(context.get("dag_run"), "run_type", None)
    return None if value is None else str(getattr(value, "value", value))
