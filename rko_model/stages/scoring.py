"""Scores to a ranked list: what the marketing optimizer receives for a month."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from rko_model import columns as col

#: Columns of the published list, in order.
RANKED_COLUMNS = (col.REPORT_DATE, col.CLIENT_ID, "score", "rank", "decile", "model_version", "run_id")


def rank_scores(
    client_ids: np.ndarray, scores: np.ndarray, report_date: dt.date, model_version: str, run_id: str
) -> pd.DataFrame:
    """Rank 1 is the most likely to open RKO; decile 1 is the top 10%. Ties go to the lower client id."""
    frame = pd.DataFrame(
        {col.CLIENT_ID: np.asarray(client_ids, dtype=np.int64), "score": np.asarray(scores, dtype=np.float64)}
    )
    frame = frame.sort_values(["score", col.CLIENT_ID], ascending=[False, True], kind="stable").reset_index(drop=True)
    n = len(frame)
    frame["rank"] = np.arange(1, n + 1, dtype=np.int64)
    frame["decile"] = (np.arange(n) * 10 // max(n, 1) + 1).astype(np.int64)
    frame[col.REPORT_DATE] = pd.Timestamp(report_date)
    frame[col.REPORT_DATE] = frame[col.REPORT_DATE].astype("datetime64[s]")
    frame["model_version"] = model_version
    frame["run_id"] = run_id
    return frame[list(RANKED_COLUMNS)]
