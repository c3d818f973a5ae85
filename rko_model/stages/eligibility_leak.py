"""How many client-months change eligibility when today's attribute values stand in for the history.

A bank that plugs today's segment and OKVED into every past month trains on its clients'
future: a client that is SMB now but was mid-size at a past report date enters that month's
training set, and today's OKVED decides whether it was excluded then. This module counts,
per report date, the clients eligible by the history (as the snapshot reads them) and by a
current-values-only reading of the same bank, and how many differ: the size of that leak.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

import pandas as pd
from sqlalchemy.engine import Engine

from rko_model import columns as col
from rko_model.settings import Settings
from rko_model.stages.snapshot import eligible_clients
from rko_model.warehouse.backends import backend_for
from rko_model.warehouse.query import read_frame

log = logging.getLogger(__name__)


def eligibility_changes(engine: Engine, settings: Settings, report_dates: Iterable[dt.date]) -> pd.DataFrame:
    """Per report date: eligible by the history, by current values, and the clients only one of them counts."""
    rows = []
    for report_date in report_dates:
        with eligible_clients(engine, report_date, settings) as (conn, params):
            as_of = set(
                read_frame(
                    conn,
                    backend_for(conn).load_sql(settings.sql_dir, "evaluation/eligible_ids"),
                    params,
                    {col.CLIENT_ID: "int"},
                )[col.CLIENT_ID]
            )
            current_sql = backend_for(conn).load_sql(settings.sql_dir, "evaluation/eligible_current_values")
            current = set(read_frame(conn, current_sql, params, {col.CLIENT_ID: "int"})[col.CLIENT_ID])
        rows.append(
            {
                col.REPORT_DATE: report_date,
                "eligible_history": len(as_of),
                "eligible_current_values": len(current),
                "only_history": len(as_of - current),
                "only_current_values": len(current - as_of),
                "changed": len(as_of ^ current),
            }
        )
        log.info("eligibility %s: %d client-months differ", report_date, rows[-1]["changed"])
    return pd.DataFrame(rows)
