"""Where the pilot reads and writes: the list with arms, the contacts, the measurement table.

``rko_monitoring.rko_pilot_results`` (defined with the other monitoring tables in
:mod:`rko_model.warehouse.staging`) holds one row per month and line (arm or comparison); a
month is replaced in one transaction, so a rerun leaves one copy.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
from sqlalchemy import String, inspect
from sqlalchemy.engine import Engine

from rko_model.common.dates import add_months
from rko_model.pilot.measure import PilotLine
from rko_model.warehouse.backends import backend_for
from rko_model.warehouse.query import ColumnKind, read_frame
from rko_model.warehouse.staging import ensure_tables, pilot_results, record_pilot_lines

_RESULT_KINDS: dict[str, ColumnKind] = {
    c.name: "date" if c.name == "report_date" else "str" if isinstance(c.type, String) else "float"
    for c in pilot_results.columns
    if c.name != "evaluated_at"
}


def ensure_pilot_tables(engine: Engine) -> None:
    with engine.begin() as conn:
        ensure_tables(conn)


def record_pilot_month(engine: Engine, report_date: dt.date, lines: list[PilotLine]) -> None:
    """Replace the month's lines in one transaction (see :func:`rko_model.warehouse.staging.record_pilot_lines`)."""
    record_pilot_lines(engine, report_date, [line.row() for line in lines])


def read_pilot_results(engine: Engine) -> pd.DataFrame:
    """Every stored line, oldest month first; empty before the first measurement."""
    ensure_pilot_tables(engine)
    sql = "SELECT * FROM rko_monitoring.rko_pilot_results ORDER BY report_date, line"
    return read_frame(engine, sql, {}, _RESULT_KINDS)


_LIST_KINDS: dict[str, ColumnKind] = {
    "client_id": "int",
    "score": "float",
    "rank": "int",
    "decile": "int",
    "arm": "str",
    "rules_rank": "float",
    "do_not_contact": "float",
    **{f"reason_{i}": "str" for i in (1, 2, 3)},
    "reason_text": "str",
    "model_version": "str",
    "run_id": "str",
}


def read_pilot_list(engine: Engine, sql_dir: Path, report_date: dt.date) -> pd.DataFrame:
    """The month's published list with arms, rules ranks and reasons, best rank first."""
    with engine.begin() as conn:
        ensure_tables(conn)
    sql = backend_for(engine).load_sql(sql_dir, "pilot/pilot_list")
    return read_frame(engine, sql, {"report_date": report_date}, _LIST_KINDS)


def pilot_months(engine: Engine, sql_dir: Path) -> list[dt.date]:
    """Report dates whose published list carries arms."""
    with engine.begin() as conn:
        ensure_tables(conn)
    frame = read_frame(engine, backend_for(engine).load_sql(sql_dir, "pilot/pilot_months"), {}, {"report_date": "date"})
    return [pd.Timestamp(d).date() for d in frame["report_date"]]


def has_table(engine: Engine, name: str) -> bool:
    return inspect(engine).has_table(name)


def contacts_of_month(engine: Engine, sql_dir: Path, report_date: dt.date) -> pd.DataFrame | None:
    """Contacts made from the list of ``report_date`` (dated in the next month); None without the table."""
    if not has_table(engine, "marketing_contacts"):
        return None
    sql = backend_for(engine).load_sql(sql_dir, "pilot/contacts_of_month")
    params = {"report_date": report_date, "contact_until": add_months(report_date, 1)}
    kinds: dict[str, ColumnKind] = {"client_id": "int", "channel": "str", "arm": "str", "campaign_id": "str"}
    return read_frame(engine, sql, params, kinds)


def contact_truth(engine: Engine, sql_dir: Path, report_date: dt.date) -> pd.DataFrame | None:
    """The synthetic bank's true propensities of the month's contacts; None on a real bank."""
    if not has_table(engine, "synthetic_contact_truth"):
        return None
    sql = backend_for(engine).load_sql(sql_dir, "pilot/contact_truth")
    kinds: dict[str, ColumnKind] = {"client_id": "int", "propensity_without": "float", "propensity_with": "float"}
    return read_frame(engine, sql, {"report_date": report_date}, kinds)
