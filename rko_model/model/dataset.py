"""Modelling data from the warehouse: stacked monthly snapshots with labels, the retro calendar, the truth.

The training set stacks several monthly snapshots with their labels; every snapshot
already leaves out liquidated companies, excluded OKVED codes and RKO holders.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from rko_model import columns as col
from rko_model.dates import add_months
from rko_model.errors import IncompleteDataError
from rko_model.labels import extract_labelled_snapshot
from rko_model.settings import Settings
from rko_model.snapshot import data_span
from rko_model.warehouse.engine import dialect_of
from rko_model.warehouse.query import read_frame
from rko_model.warehouse.sqlfiles import load_sql

log = logging.getLogger(__name__)

#: Months of history a report date needs for its longest feature window.
MIN_HISTORY_MONTHS = max(col.WINDOWS)


@dataclass(frozen=True)
class RetroPlan:
    """Months to train on and later months to test on, out of time.

    Every training month's label window closes on or before the first test month, so no
    label of the training set looks into the test period.
    """

    train_months: tuple[dt.date, ...]
    test_months: tuple[dt.date, ...]

    def to_dict(self) -> dict[str, list[str]]:
        return {
            "train_months": [m.isoformat() for m in self.train_months],
            "test_months": [m.isoformat() for m in self.test_months],
        }


def plan_retro(data_start: dt.date, data_end: dt.date, n_train: int = 12, n_test: int = 6) -> RetroPlan:
    """The latest ``n_test`` labelled months for testing and up to ``n_train`` earlier months for training."""
    last_labelled = add_months(data_end, -col.LABEL_HORIZON_MONTHS)
    test = [add_months(last_labelled, -k) for k in range(n_test - 1, -1, -1)]
    first_full = add_months(data_start, MIN_HISTORY_MONTHS - 1)
    last_train = add_months(test[0], -col.LABEL_HORIZON_MONTHS)
    candidates = []
    month = last_train
    while month >= first_full and len(candidates) < n_train:
        candidates.append(month)
        month = add_months(month, -1)
    needed = MIN_HISTORY_MONTHS + 2 + col.LABEL_HORIZON_MONTHS + n_test
    if len(candidates) < 2:
        raise IncompleteDataError(
            f"the warehouse spans {data_start.isoformat()}..{data_end.isoformat()}: too short for {n_test} test "
            f"months with training months of full {MIN_HISTORY_MONTHS}-month history before them "
            f"(need at least {needed} months; generate more with `rko generate --months`)"
        )
    return RetroPlan(train_months=tuple(reversed(candidates)), test_months=tuple(test))


def plan_from_warehouse(engine: Engine, settings: Settings, n_train: int = 12, n_test: int = 6) -> RetroPlan:
    span = data_span(engine, settings)
    if span is None:
        raise IncompleteDataError("the warehouse holds no months: run `rko generate` first")
    return plan_retro(*span, n_train=n_train, n_test=n_test)


#: Months read at once on PostgreSQL, each on its own connection (SQLite has one writer-free reader path).
STACK_READERS = 2


def build_dataset(engine: Engine, months: Sequence[dt.date], settings: Settings) -> pd.DataFrame:
    """Labelled snapshots of ``months``, stacked (read from the feature marts wherever they cover a month).

    On PostgreSQL two months are read at once, each on a connection of its own; the frames
    are stacked in the order of ``months`` whatever order they finish in.
    """
    started = time.perf_counter()
    done = iter(range(1, len(months) + 1))

    def one(month: dt.date) -> pd.DataFrame:
        frame = extract_labelled_snapshot(engine, month, settings)
        log.info("dataset: %s labelled (%d/%d, %.0f s)", month, next(done), len(months), time.perf_counter() - started)
        return frame

    workers = STACK_READERS if dialect_of(engine) == "postgresql" else 1
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dataset") as pool:
        frames = list(pool.map(one, months))
    return pd.concat(frames, ignore_index=True)


def load_truth(engine: Engine, months: Sequence[dt.date], settings: Settings) -> pd.DataFrame | None:
    """The synthetic bank's true propensity at ``months``; None for a warehouse without it (a real bank)."""
    if not sa.inspect(engine).has_table("synthetic_truth"):
        log.info("no synthetic_truth table: the ceiling Gini is not reported")
        return None
    sql = load_sql(settings.sql_dir, "evaluation/truth", dialect_of(engine))
    kinds = {col.CLIENT_ID: "int", col.REPORT_DATE: "date", "propensity": "float"}
    return read_frame(engine, sql, {"months": list(months)}, kinds)  # type: ignore[arg-type]
