"""Engine-free checks of the fault lines, run ids, atomic files and the documented source bounds."""

from __future__ import annotations

import datetime as dt
import errno
import sqlite3
from pathlib import Path

import adbc_driver_manager as adbc
import pytest
import sqlalchemy as sa

from rko_model.common.run_ids import MAX_RUN_ID, check_run_id, folder_name, month_run_id
from rko_model.errors import InvalidInputError, MonthBusyError, ValidationError, WarehouseError
from rko_model.runs.faults import EXIT_PERMANENT, EXIT_TRANSIENT, describe, one_line
from rko_model.stages.source_values import SOURCE_BOUNDS, is_within_bound
from rko_model.storage import atomic
from rko_model.warehouse import schema

INVALID, IO = adbc.AdbcStatusCode.INVALID_ARGUMENT, adbc.AdbcStatusCode.IO


def _wrapped(cause: BaseException) -> WarehouseError:
    try:
        try:
            raise cause
        except BaseException as exc:
            raise WarehouseError(f"query failed: {exc}") from exc
    except WarehouseError as error:
        return error


def test_permanent_and_transient_faults() -> None:
    assert describe(ValidationError("bad\ndata")).exit_code == EXIT_PERMANENT
    assert describe(ValidationError("bad\ndata")).message == "bad data"
    assert describe(MonthBusyError("held")).exit_code == EXIT_TRANSIENT
    assert describe(MonthBusyError("fenced", transient=False)).exit_code == EXIT_PERMANENT
    locked = sa.exc.OperationalError("BEGIN", {}, sqlite3.OperationalError("database is locked"))
    assert describe(_wrapped(locked)).transient
    missing = sa.exc.OperationalError("connect", {}, sqlite3.OperationalError("unable to open database file"))
    assert not describe(_wrapped(missing)).transient  # a wrapped permanent cause stays permanent
    full = OSError(errno.ENOSPC, "No space left on device", "/data/x.parquet.partial")
    assert describe(full).message.startswith("cannot write or read /data/x.parquet.partial: No space left")
    assert describe(KeyError("a bug")) is None  # no rule: a bug keeps its traceback


def test_the_reading_sessions_driver_errors_get_the_same_verdicts() -> None:
    """ADBC (PostgreSQL's snapshot reads) names its SQLSTATE as ``sqlstate``: a broken query is permanent, a
    dropped connection transient."""
    broken = adbc.ProgrammingError("syntax error at or near SELEC", status_code=INVALID, sqlstate="42601")
    assert not describe(_wrapped(broken)).transient
    dropped = adbc.OperationalError("server closed the connection unexpectedly", status_code=IO, sqlstate="08006")
    assert describe(_wrapped(dropped)).transient
    assert describe(broken) is not None and describe(broken).exit_code == EXIT_PERMANENT  # unwrapped too


def test_one_line_drops_newlines_and_background_links() -> None:
    text = "a\n  b (Background on this error at: https://sqlalche.me/e/21/e3q8)\n"
    assert one_line(text) == "a b"
    assert len(one_line("x" * 5000)) <= 600


@pytest.mark.parametrize("good", ["cli__20261101T030000Z", "scheduled__2026-11-01T03:00:00+00:00", "a", "x" * 200])
def test_good_run_ids(good: str) -> None:
    assert check_run_id(good) == good
    name = folder_name(good)
    assert "/" not in name and len(name) <= 64 + 11 and not name.startswith(".")


@pytest.mark.parametrize("bad", ["", "../x", "a/b", "a b", "-x", ".hidden", "a\x00", "é", "x" * (MAX_RUN_ID + 1)])
def test_bad_run_ids(bad: str) -> None:
    with pytest.raises(InvalidInputError):
        check_run_id(bad)


def test_distinct_run_ids_never_share_a_folder() -> None:
    assert folder_name("a:b") != folder_name("a_b") and folder_name("a+b") != folder_name("a_b")


def test_a_failed_write_leaves_no_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    with pytest.raises(RuntimeError), atomic.partial_path(target) as partial:
        partial.write_text("half")
        raise RuntimeError("disk gone")
    assert list(tmp_path.iterdir()) == []
    atomic.write_text(target, "whole")
    assert target.read_text() == "whole" and list(tmp_path.iterdir()) == [target]


def test_a_staged_folder_appears_whole_or_not_at_all(tmp_path: Path) -> None:
    target = tmp_path / "packages" / "v1"
    with pytest.raises(RuntimeError), atomic.staged_folder(target) as staging:
        (staging / "model.cbm").write_bytes(b"half")
        raise RuntimeError("killed")
    assert list((tmp_path / "packages").iterdir()) == []  # neither the folder nor the staging one
    with atomic.staged_folder(target) as staging:
        (staging / "model.cbm").write_bytes(b"whole")
    assert [p.name for p in target.iterdir()] == ["model.cbm"]
    with pytest.raises(OSError), atomic.staged_folder(target) as staging:  # never overwritten
        (staging / "model.cbm").write_bytes(b"other")
    assert (target / "model.cbm").read_bytes() == b"whole" and [p.name for p in (tmp_path / "packages").iterdir()] == [
        "v1"
    ]


def test_every_numeric_source_column_has_a_documented_bound() -> None:
    numeric = {
        (table.name, column.name)
        for table in (schema.clients, schema.account_monthly, schema.payments, schema.digital_activity)
        for column in table.columns
        if isinstance(column.type, sa.Float | sa.Integer) and not column.name.endswith("_id")
    }
    assert numeric == set(SOURCE_BOUNDS)
    doc = (Path(__file__).parents[2] / "docs" / "bad_input.md").read_text(encoding="utf-8")
    assert all(column in doc for _, column in SOURCE_BOUNDS)
    sql = (Path(__file__).parents[2] / "sql" / "validation" / "source_values.sql").read_text(encoding="utf-8")
    assert all(f":bound_{table}_{column}" in sql for table, column in SOURCE_BOUNDS)
    # The marts build counts the monthly tables' values (the clients table is read live): every column, once.
    assert set(schema.MONTHLY_SOURCE_COLUMNS) == {key for key in SOURCE_BOUNDS if key[0] != "clients"}
    monthly = (Path(__file__).parents[2] / "sql" / "marts" / "month_source_values.sql").read_text(encoding="utf-8")
    assert all(f":bound_{table}_{column}" in monthly for table, column in schema.MONTHLY_SOURCE_COLUMNS)
    assert not is_within_bound("payments", "amount", float("inf")) and is_within_bound("payments", "amount", 1e6)


def test_each_month_of_a_run_of_several_months_has_its_own_run_id() -> None:
    """A run id names one month: a run of one month keeps its id, one of several names each month apart."""
    run_id = "asset_triggered__2026-12-02T08:00:00.080000+00:00"
    assert month_run_id(run_id, dt.date(2026, 9, 30), 1) == run_id
    september, october = (month_run_id(run_id, dt.date(2026, m, d), 2) for m, d in ((9, 30), (10, 31)))
    assert (september, october) == (f"{run_id}@2026-09", f"{run_id}@2026-10")
    assert len({folder_name(september), folder_name(october), folder_name(run_id)}) == 3
    with pytest.raises(InvalidInputError):
        month_run_id("bad id", dt.date(2026, 9, 30), 2)
