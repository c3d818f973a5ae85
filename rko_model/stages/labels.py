"""Labels: did an eligible client open RKO in (report date, report date + 3 months]?"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy.engine import Engine

from rko_model import columns as col
from rko_model.common.dates import add_months, parse_report_date
from rko_model.errors import IncompleteDataError
from rko_model.settings import Settings
from rko_model.stages.feature_source import source_queries
from rko_model.stages.snapshot import data_end, eligible_reader, read_snapshot
from rko_model.warehouse.readers import Reader


def label_window(report_date: dt.date) -> tuple[dt.date, dt.date]:
    """The half-open window ``(report_date, horizon_end]`` in which an opening counts."""
    return report_date, add_months(report_date, col.LABEL_HORIZON_MONTHS)


def check_label_window(engine: Engine, settings: Settings, report_date: dt.date) -> dt.date:
    """The window's last day; refuses a month whose window is not complete in the warehouse."""
    _, horizon_end = label_window(report_date)
    end = data_end(engine, settings)
    if end is None or horizon_end > end:
        latest = add_months(end, -col.LABEL_HORIZON_MONTHS).isoformat() if end else "none"
        raise IncompleteDataError(
            f"labels for {report_date.isoformat()} need data through {horizon_end.isoformat()}, "
            f"but the warehouse ends at {end.isoformat() if end else 'no month'}; latest labelled month: {latest}"
        )
    return horizon_end


def extract_labels(engine: Engine, report_date: dt.date | str, settings: Settings) -> pd.DataFrame:
    """``client_id, report_date, target`` for every client eligible at ``report_date``.

    Refuses a month whose label window is not complete in the warehouse: its zeros would
    be unknowns, not negatives.
    """
    report_date = parse_report_date(report_date)
    horizon_end = check_label_window(engine, settings, report_date)
    with eligible_reader(engine, report_date, settings) as (reader, params):
        return read_labels(reader, params, settings, report_date, horizon_end)


def read_labels(
    reader: Reader, params: dict, settings: Settings, report_date: dt.date, horizon_end: dt.date
) -> pd.DataFrame:
    """Labels, read in a session that holds ``snapshot_eligible``."""
    sql = reader.backend.load_sql(settings.sql_dir, "labels")
    frame = reader.read_frame(sql, {**params, "horizon_end": horizon_end}, {col.CLIENT_ID: "int", col.TARGET: "int"})
    frame.insert(1, col.REPORT_DATE, pd.Timestamp(report_date))
    frame[col.REPORT_DATE] = frame[col.REPORT_DATE].astype("datetime64[s]")
    frame[col.TARGET] = frame[col.TARGET].astype("int8")
    return frame


def extract_labelled_snapshot(engine: Engine, report_date: dt.date | str, settings: Settings) -> pd.DataFrame:
    """The snapshot of ``report_date`` with its ``target`` column, in one pass over the eligible clients."""
    report_date = parse_report_date(report_date)
    horizon_end = check_label_window(engine, settings, report_date)
    sources = source_queries(engine, settings, report_date)
    with eligible_reader(engine, report_date, settings) as (reader, params):
        frame = read_snapshot(reader, params, settings, report_date, sources)
        labels = read_labels(reader, params, settings, report_date, horizon_end)
    return frame.merge(labels[[col.CLIENT_ID, col.TARGET]], on=col.CLIENT_ID, how="left", validate="one_to_one")
