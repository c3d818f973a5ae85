"""A synthetic bank whose last month is only partly loaded, as a real warehouse is early in a month.

Account aggregates of month M often land around the 5th of M+1, payments and product events
day by day. :func:`partly_loaded` filters a generated bank as a warehouse looks on the
``loaded_through``-th day of the month's load: payments and product events up to that day of
the last month, and only ``monthly_share`` of the last month's account and digital rows.
The readiness check (``rko_model/stages/readiness.py``) then refuses the month.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np
import pandas as pd

from rko_model.synth.generator import Chunk

#: Day of the last month up to which payments and product events are loaded.
LOADED_THROUGH_DAY = 3
#: Share of the last month's account and digital rows loaded.
MONTHLY_SHARE = 0.3

_MONTHLY = {"account_monthly": "month_end", "digital_activity": "month_end"}


def partly_loaded(
    chunks: Iterator[Chunk],
    last_month: dt.date,
    seed: int,
    loaded_through: int = LOADED_THROUGH_DAY,
    monthly_share: float = MONTHLY_SHARE,
) -> Iterator[Chunk]:
    """``chunks`` of a bank with its last month ``last_month`` cut as a partly finished load would leave it."""
    cutoff = pd.Timestamp(last_month.replace(day=loaded_through))
    month = pd.Timestamp(last_month)
    rng = np.random.default_rng([seed, 99])
    for name, frame in chunks:
        if name in _MONTHLY:
            last = frame[_MONTHLY[name]] == month
            frame = frame[~last | (rng.random(len(frame)) < monthly_share)]
        elif name == "payments":
            frame = frame[frame["payment_date"] <= cutoff]
        elif name == "product_events":
            frame = frame[frame["open_date"] <= cutoff].copy()
            frame.loc[frame["close_date"] > cutoff, "close_date"] = pd.NaT
        yield name, frame.reset_index(drop=True)
