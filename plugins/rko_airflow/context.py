"""Settings and dates of a task, from the task's Connections and its DAG run's data interval."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from airflow.sdk.exceptions import AirflowFailException

from rko_airflow.hooks import STAGING_CONN_ID, WAREHOUSE_CONN_ID, RkoDatabaseHook
from rko_model import logmask
from rko_model.dates import month_end
from rko_model.errors import ConfigError, DataContractError, InvalidInputError, PackageError, ValidationError
from rko_model.settings import Settings


def task_settings() -> Settings:
    """rko_model's settings with the warehouse and staging URLs of the Airflow Connections.

    Every task starts here, so this is also where the task's log handlers get the INN mask.
    """
    logmask.install()
    settings = Settings.from_env()
    return replace(
        settings,
        warehouse_url=RkoDatabaseHook(WAREHOUSE_CONN_ID).sqlalchemy_url(),
        staging_url=RkoDatabaseHook(STAGING_CONN_ID).sqlalchemy_url(),
    )


def report_date_of(context: Any) -> dt.date:
    """The month a run covers, as its month end: never the wall clock.

    - a run triggered by the feature marts' Asset: the month the marts were built for (the
      latest, should several builds have triggered one run);
    - a run with a monthly data interval (scheduled, backfilled): the month of the interval;
    - a manual run of an Asset-scheduled DAG (its interval is the logical date alone): the
      month that ended before the logical date, as ``rko logical-date`` computes it.
    """
    built = _marts_months(context)
    if built:
        return max(built)
    start, end = context.get("data_interval_start"), context.get("data_interval_end")
    if start is None:
        raise ValueError("this DAG run has no data interval; trigger it with a logical date")
    if end is not None and end == start:
        return month_end(start.date() - dt.timedelta(days=1))
    return month_end(start.date())


def _marts_months(context: Any) -> list[dt.date]:
    """The months named by the feature marts' Asset events that triggered this run (none for other runs)."""
    from rko_airflow.marts_asset import FEATURE_MARTS, REPORT_DATE_KEY

    events = context.get("triggering_asset_events") or {}
    months = []
    for asset in events:
        if getattr(asset, "uri", None) != FEATURE_MARTS.uri:
            continue
        for event in events[asset]:
            value = (event.extra or {}).get(REPORT_DATE_KEY)
            if value:
                months.append(dt.date.fromisoformat(str(value)))
    return months


#: Errors that a retry cannot mend: bad data, a broken contract, a wrong package or argument.
PERMANENT_ERRORS = (ValidationError, DataContractError, PackageError, InvalidInputError, ConfigError)


@contextmanager
def fail_fast() -> Iterator[None]:
    """Turn a permanent rko_model error into AirflowFailException, so the task fails without retrying.

    Database errors and a busy month (another run) are left to the task's retries.
    """
    try:
        yield
    except PERMANENT_ERRORS as exc:
        raise AirflowFailException(f"{type(exc).__name__}: {exc}") from exc
