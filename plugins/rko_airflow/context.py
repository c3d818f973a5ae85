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
from rko_model.faults import describe
from rko_model.settings import Settings


def task_settings() -> Settings:
    """rko_model's settings with the warehouse and staging URLs of the Airflow Connections.

    Every task starts here, so this is also where the task's log handlers get the INN mask.
    """
    logmask.install()
    with fail_fast():
        settings = Settings.from_env()
    return replace(
        settings,
        warehouse_url=RkoDatabaseHook(WAREHOUSE_CONN_ID).sqlalchemy_url(),
        staging_url=RkoDatabaseHook(STAGING_CONN_ID).sqlalchemy_url(),
    )


def report_date_of(context: Any) -> dt.date:
    """The month the run's data interval covers, as its month end: never the wall clock."""
    start = context["data_interval_start"]
    if start is None:
        raise ValueError("this DAG run has no data interval; trigger it with a logical date")
    return month_end(start.date())


#: Errors that a retry cannot mend: bad data, a broken contract, a wrong package or argument.
PERMANENT_ERRORS = (ValidationError, DataContractError, PackageError, InvalidInputError, ConfigError)


@contextmanager
def fail_fast() -> Iterator[None]:
    """Turn a permanent fault into AirflowFailException, so the task fails at once, in one line, without retrying.

    Permanent: every rko_model error not flagged transient, a database that does not exist or
    refuses, a damaged file, a full or read-only disk (:func:`rko_model.faults.describe`).
    A database that does not answer and a busy month are left to the task's retries.
    """
    try:
        yield
    except Exception as exc:
        fault = describe(exc)
        if fault is None or fault.transient:
            raise
        raise AirflowFailException(f"{type(exc).__name__}: {fault.message}") from exc
