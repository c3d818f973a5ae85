"""Labels: did an eligible client open RKO in (report date, report date + 3 months]?"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy.engine import Engine

from rko_model import columns as col
from rko_model.dates import add_months, parse_report_date
from rko_model.errors import IncompleteDataError
from rko_model.settings import Settings
from rko_model.snapshot import data_end, eligible_clients
from rko_model.warehouse.engine import dialect_of
from rko_model.warehouse.query import read_frame
from rko_model.warehouse.sqlfiles import load_sql


def label_window(report_date: dt.date) -> tuple[dt.date, dt.date]:
    """The half-open window ``(report_date, horizon_end]`` in which an opening counts."""
    return report_date, add_months(report_date, col.LABEL_HORIZON_MONTHS)


def extract_labels(engine: Engine, report_date: dt.date | str, settings: Settings) -> pd.DataFrame:
    """``client_id, report_date, target`` for every client eligible at ``report_date``.

    Refuses a month whose label window is not complete in the warehouse: its zeros would
    be unknowns, not negatives.
    """
    report_date = parse_report_date(report_date)
    _, horizon_end = label_window(report_date)
    end = data_end(engine, settings)
    if end is None or horizon_end > end:
        latest = add_months(end, -col.LABEL_HORIZON_MONTHS).isoformat() if end else "none"
        raise IncompleteDataError(
            f"labels for {report_date.isoformat()} need data through {horizon_end.isoformat()}, "
            f"but the warehouse ends at {end.isoformat() if end else 'no month'}; latest labelled month: {latest}"
        )
    with eligible_clients(engine, report_date, settings) as (conn, params):
        sql = load_sql(settings.sql_dir, "labels", dialect_of(engine))
        frame = read_frame(conn, sql, {**params, "horizon_end": horizon_end}, {col.CLIENT_ID: "int", col.TARGET: "int"})
    frame.insert(1, col.REPORT_DATE, pd.Timestamp(report_date))
    frame[col.REPORT_DATE] = frame[col.REPORT_DATE].astype("datetime64[s]")
    frame[col.TARGET] = frame[col.TARGET].astype("int8")
    return frame
