"""What every task starts with: ``with task_run() as run:`` gives its settings, its month and fail-fast."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

from airflow.sdk.exceptions import AirflowFailException

from rko_airflow.hooks import MARTS_CONN_ID, STAGING_CONN_ID, WAREHOUSE_CONN_ID, RkoDatabaseHook
from rko_model.common import logmask
from rko_model.common.dates import month_end
from rko_model.errors import ConfigError, DataContractError, InvalidInputError, PackageError, ValidationError
from rko_model.runs.faults import describe
from rko_model.settings import Settings


def task_settings(*, builds_marts: bool = False) -> Settings:
    """rko_model's settings with the warehouse and staging URLs of the Airflow Connections.

    Every task starts here, so this is also where the task's log handlers get the INN mask.
    ``builds_marts``: the warehouse is reached through ``rko_warehouse_marts`` when it is defined
    (a login that may write the mart tables; the scoring role only reads them).
    """
    logmask.install()
    with fail_fast():
        settings = Settings.from_env()
    warehouse = RkoDatabaseHook(MARTS_CONN_ID) if builds_marts else None
    if warehouse is None or not warehouse.exists():
        warehouse = RkoDatabaseHook(WAREHOUSE_CONN_ID)
    return replace(
        settings,
        warehouse_url=warehouse.sqlalchemy_url(),
        staging_url=RkoDatabaseHook(STAGING_CONN_ID).sqlalchemy_url(),
    )


def report_date_of(context: Any) -> dt.date:
    """The month of a run that covers one month, as its month end: never the wall clock.

    - a run with a monthly data interval (scheduled, backfilled): the month of the interval;
    - a manual run of an Asset-scheduled DAG (its interval is a single moment): the last month
      that ended before its logical date (``rko logical-date`` gives one for a month).

    The scoring runs that Asset events trigger may cover several months: see
    :func:`rko_airflow.scoring_months.months_of_run`.
    """
    start, end = context.get("data_interval_start"), context.get("data_interval_end")
    if start is None:
        raise ValueError("this DAG run has no data interval; trigger it with a logical date")
    if end is not None and end == start:
        # A manual run: Airflow 3 infers its interval from when it was triggered, so the logical date
        # given (``airflow dags trigger -l``) decides, when there is one; the last month end before it.
        return month_closed_before(context.get("logical_date") or start)
    return month_end(start.date())


def month_closed_before(moment: dt.datetime) -> dt.date:
    """The end of the last month that closed before ``moment``: the latest month there is to score."""
    return moment.date().replace(day=1) - dt.timedelta(days=1)


#: Errors that a retry cannot mend: bad data, a broken contract, a wrong package or argument.
PERMANENT_ERRORS = (ValidationError, DataContractError, PackageError, InvalidInputError, ConfigError)


@contextmanager
def fail_fast() -> Iterator[None]:
    """Turn a permanent fault into AirflowFailException, so the task fails at once, in one line, without retrying.

    Permanent: every rko_model error not flagged transient, a database that does not exist or
    refuses, a damaged file, a full or read-only disk (:func:`rko_model.runs.faults.describe`).
    A database that does not answer and a busy month are left to the task's retries.
    """
    try:
        yield
    except Exception as exc:
        fault = describe(exc)
        if fault is None or fault.transient:
            raise
        raise AirflowFailException(f"{type(exc).__name__}: {fault.message}") from exc


@dataclass(frozen=True)
class TaskRun:
    """What a task's body needs: its Airflow context, its settings and (read when first asked) its month."""

    context: Any
    settings: Settings

    @cached_property
    def report_date(self) -> dt.date:
        """Lazy: tasks that never ask (``plan``) do not fail on a run without a data interval."""
        return report_date_of(self.context)

    @property
    def run_id(self) -> str:
        return str(self.context["run_id"])

    @property
    def params(self) -> Any:
        return self.context["params"]


def current_run(*, builds_marts: bool = False, context: Any = None) -> TaskRun:
    """The task's :class:`TaskRun`, for a task that leaves every error to its retries (no :func:`fail_fast`)."""
    if context is None:
        from airflow.sdk import get_current_context

        context = get_current_context()
    return TaskRun(context, task_settings(builds_marts=builds_marts))


@contextmanager
def task_run(*, builds_marts: bool = False, context: Any = None) -> Iterator[TaskRun]:
    """The shared preamble of a task: ``with task_run() as run:``, its body under :func:`fail_fast`.

    The settings are read before the body (``task_settings`` fails fast on its own permanent
    fault, a bad setting); ``builds_marts`` as in :func:`task_settings`.
    """
    run = current_run(builds_marts=builds_marts, context=context)
    with fail_fast():
        yield run


def wait_for_readiness(settings: Settings, report_date: dt.date, now: dt.datetime | None = None) -> Any:
    """One poke of the readiness sensor: done when every source holds the month, a failure after the deadline.

    Returns a ``PokeReturnValue`` whose XCom is the readiness summary (for the run metrics);
    past ``settings.readiness_deadline_hours`` an incomplete month fails the task without retry,
    naming the sources that do not hold it.
    """
    import logging

    from airflow.sdk import PokeReturnValue

    from rko_model.stages.readiness import check_readiness, deadline_of
    from rko_model.warehouse.engine import make_engine

    readiness = check_readiness(make_engine(settings.warehouse_url), settings, report_date)
    if readiness.ready:
        return PokeReturnValue(is_done=True, xcom_value={**readiness.as_ref(), "forced": False})
    deadline = deadline_of(settings, report_date)
    if (now or dt.datetime.now(dt.UTC)) >= deadline:
        raise AirflowFailException(
            f"IncompleteDataError: {readiness.message()}; the deadline {deadline:%Y-%m-%d %H:%M} UTC "
            "(RKO_READINESS_DEADLINE_HOURS after the month closed) has passed: load the sources, then clear this task"
        )
    logging.getLogger(__name__).info("waiting until %s UTC: %s", f"{deadline:%Y-%m-%d %H:%M}", readiness.message())
    return PokeReturnValue(is_done=False)
