"""The Connection hook turns Airflow Connections into rko_model's SQLAlchemy URLs."""

from __future__ import annotations

import json

import pytest

from rko_model.errors import ConfigError


def test_postgres_connection_with_search_path(monkeypatch: pytest.MonkeyPatch) -> None:
    from rko_airflow.hooks import RkoDatabaseHook

    monkeypatch.setenv(
        "AIRFLOW_CONN_RKO_WAREHOUSE",
        json.dumps(
            {
                "conn_type": "postgres",
                "host": "dwh.bank",
                "port": 5433,
                "login": "scoring",
                "password": "s3cret",
                "schema": "bank",
                "extra": {"search_path": "rko_contract"},
            }
        ),
    )
    url = RkoDatabaseHook("rko_warehouse").sqlalchemy_url()
    assert url == "postgresql+psycopg2://scoring:s3cret@dwh.bank:5433/bank?options=-csearch_path%3Drko_contract"


def test_sqlalchemy_url_in_extra_and_engine(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from rko_airflow.hooks import RkoDatabaseHook

    url = f"sqlite:///{tmp_path / 'w.db'}"
    monkeypatch.setenv(
        "AIRFLOW_CONN_RKO_STAGING", json.dumps({"conn_type": "generic", "extra": {"sqlalchemy_url": url}})
    )
    hook = RkoDatabaseHook("rko_staging")
    assert hook.sqlalchemy_url() == url
    with hook.get_engine().connect() as conn:
        assert conn.exec_driver_sql("SELECT 1").scalar() == 1


def test_other_connections_are_refused_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    from rko_airflow.hooks import RkoDatabaseHook

    monkeypatch.setenv("AIRFLOW_CONN_RKO_WAREHOUSE", json.dumps({"conn_type": "http", "host": "example"}))
    with pytest.raises(ConfigError, match="neither a postgres connection nor one with an extra 'sqlalchemy_url'"):
        RkoDatabaseHook("rko_warehouse").sqlalchemy_url()


def test_report_date_comes_from_the_data_interval() -> None:
    import datetime as dt

    import pendulum
    from rko_airflow.context import report_date_of

    context = {"data_interval_start": pendulum.datetime(2026, 2, 1, 3, tz="UTC")}
    assert report_date_of(context) == dt.date(2026, 2, 28)
    with pytest.raises(ValueError, match="no data interval"):
        report_date_of({"data_interval_start": None})


def test_report_date_of_a_manual_run() -> None:
    """A manual run of an Asset-scheduled DAG scores the month before its logical date (never the wall clock).

    The months of a run that Asset events triggered: tests/dags/test_scoring_months.py.
    """
    import datetime as dt

    import pendulum
    from rko_airflow.context import month_closed_before, report_date_of

    logical = pendulum.datetime(2026, 11, 1, 3, tz="UTC")
    manual = {"triggering_asset_events": {}, "data_interval_start": logical, "data_interval_end": logical}
    assert report_date_of(manual) == dt.date(2026, 10, 31)
    # `airflow dags trigger -l`: the interval follows the wall clock, the logical date decides
    now = pendulum.datetime(2026, 12, 2, 8, tz="UTC")
    triggered_by_hand = {"data_interval_start": now, "data_interval_end": now, "logical_date": logical}
    assert report_date_of(triggered_by_hand) == dt.date(2026, 10, 31)
    assert report_date_of({"data_interval_start": now, "data_interval_end": now}) == dt.date(2026, 11, 30)
    assert month_closed_before(pendulum.datetime(2026, 1, 1, tz="UTC")) == dt.date(2025, 12, 31)


def test_permanent_errors_fail_the_task_without_retries() -> None:
    from airflow.sdk.exceptions import AirflowFailException
    from rko_airflow.context import fail_fast

    from rko_model.errors import MonthBusyError, PackageError, WarehouseError

    with pytest.raises(AirflowFailException, match="PackageError: checksum"), fail_fast():
        raise PackageError("checksum does not match")
    for retryable in (WarehouseError("connection lost"), MonthBusyError("another run")):
        with pytest.raises(type(retryable)), fail_fast():
            raise retryable


def test_task_run_gives_the_settings_the_month_and_fails_fast(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The DAGs' preamble: settings from the Connections, the month when asked, permanent faults fail at once."""
    import datetime as dt

    import pendulum
    from airflow.sdk.exceptions import AirflowFailException
    from rko_airflow.context import current_run, task_run

    from rko_model.errors import PackageError, WarehouseError

    warehouse, staging = f"sqlite:///{tmp_path / 'w.db'}", f"sqlite:///{tmp_path / 's.db'}"
    monkeypatch.setenv(
        "AIRFLOW_CONN_RKO_WAREHOUSE", json.dumps({"conn_type": "generic", "extra": {"sqlalchemy_url": warehouse}})
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_RKO_STAGING", json.dumps({"conn_type": "generic", "extra": {"sqlalchemy_url": staging}})
    )
    context = {
        "run_id": "manual__1",
        "params": {"partitions": 2},
        "data_interval_start": pendulum.datetime(2026, 2, 1, 3, tz="UTC"),
    }
    with task_run(context=context) as run:
        assert (run.settings.warehouse_url, run.settings.staging_url) == (warehouse, staging)
        assert run.report_date == dt.date(2026, 2, 28) and run.run_id == "manual__1" and run.params["partitions"] == 2
    with pytest.raises(AirflowFailException, match="PackageError: checksum"), task_run(context=context):
        raise PackageError("checksum does not match")
    with pytest.raises(WarehouseError), task_run(context=context):
        raise WarehouseError("connection lost")  # transient: left to the retries
    with pytest.raises(PackageError):  # current_run: the task's errors are its own, nothing converted
        current_run(context=context)
        raise PackageError("checksum does not match")
    # The month is read when asked: a task that never asks runs without a data interval.
    no_interval = current_run(context={"run_id": "manual__2", "data_interval_start": None})
    with pytest.raises(ValueError, match="no data interval"):
        _ = no_interval.report_date
    monkeypatch.setenv(
        "AIRFLOW_CONN_RKO_WAREHOUSE_MARTS", json.dumps({"conn_type": "generic", "extra": {"sqlalchemy_url": staging}})
    )
    with task_run(builds_marts=True, context=context) as run:
        assert run.settings.warehouse_url == staging
