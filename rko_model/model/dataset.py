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
from rko_model.common.dates import add_months
from rko_model.errors import IncompleteDataError, InvalidInputError
from rko_model.settings import Settings
from rko_model.stages.labels import extract_labelled_snapshot
from rko_model.stages.snapshot import data_span
from rko_model.warehouse.backends import backend_for
from rko_model.warehouse.query import read_frame

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


def plan_retro(
    data_start: dt.date, data_end: dt.date, n_train: int = 12, n_test: int = 6, *, strict: bool = False
) -> RetroPlan:
    """The latest ``n_test`` labelled months for testing and up to ``n_train`` earlier months for training.

    With ``strict`` (a window a person asked for) a window the warehouse cannot fill is refused,
    naming the most it can hold; otherwise fewer months are used, and the log says so.
    """
    if n_train < 1 or n_test < 1:
        raise InvalidInputError(f"training needs at least 1 training and 1 test month, got {n_train} and {n_test}")
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
    if len(candidates) < n_train and not strict:
        log.warning(
            "training on %d months, fewer than the %d asked: the warehouse holds no more", len(candidates), n_train
        )
    elif len(candidates) < n_train:
        raise IncompleteDataError(
            f"the warehouse spans {data_start.isoformat()}..{data_end.isoformat()}: it holds {len(candidates)} "
            f"training months with full {MIN_HISTORY_MONTHS}-month history before the {n_test} test months, "
            f"fewer than the {n_train} asked: train on at most {len(candidates)} months (--train-months), "
            "or load more history"
        )
    return RetroPlan(train_months=tuple(reversed(candidates)), test_months=tuple(test))


def plan_from_warehouse(
    engine: Engine,
    settings: Settings,
    n_train: int = 12,
    n_test: int = 6,
    *,
    strict: bool = False,
    as_of: dt.date | None = None,
) -> RetroPlan:
    """The retro plan for the warehouse's months; ``as_of`` plans as if nothing after that month were known.

    ``as_of`` is for a warehouse that holds some tables past the month being decided (a pilot's
    simulated bank, a replay): labels after it are not known yet, so no month past it is used.
    """
    span = data_span(engine, settings)
    if span is None:
        raise IncompleteDataError("the warehouse holds no months: run `rko generate` first")
    start, end = span
    if as_of is not None:
        end = min(end, as_of)
    return plan_retro(start, end, n_train=n_train, n_test=n_test, strict=strict)


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

    workers = STACK_READERS if backend_for(engine).parallel_reads else 1
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dataset") as pool:
        frames = list(pool.map(one, months))
    return pd.concat(frames, ignore_index=True).astype({col.REPORT_DATE: "datetime64[s]"})


def load_truth(engine: Engine, months: Sequence[dt.date], settings: Settings) -> pd.DataFrame | None:
    """The synthetic bank's true propensity at ``months``; None for a warehouse without it (a real bank)."""
    if not sa.inspect(engine).has_table("synthetic_truth"):
        log.info("no synthetic_truth table: the ceiling Gini is not reported")
        return None
    sql = backend_for(engine).load_sql(settings.sql_dir, "evaluation/truth")
    kinds = {col.CLIENT_ID: "int", col.REPORT_DATE: "date", "propensity": "float"}
    return read_frame(engine, sql, {"months": list(months)}, kinds)  # type: ignore[arg-type]


def load_oracle(engine: Engine, months: Sequence[dt.date], settings: Settings) -> pd.DataFrame | None:
    """The oracle propensity of each client at ``months``: ``1-(1-h1)(1-h2)(1-h3)``.

    ``h1..h3`` are the hazards the synthetic bank actually drew the openings of the three
    window months from (stored at the month ends R, R+1, R+2: each one drives the next month).
    It knows what happened after the report date, so it bounds any model that sees data up to
    it, up to sampling noise. A client without a hazard at a month (liquidated) cannot open then.
    None for a warehouse without the hazard table (a real bank, or a bank generated before it).
    """
    if not sa.inspect(engine).has_table("synthetic_hazard"):
        log.info("no synthetic_hazard table: the oracle ceiling is not reported")
        return None
    needed = sorted({add_months(m, k) for m in months for k in range(col.LABEL_HORIZON_MONTHS)})
    sql = backend_for(engine).load_sql(settings.sql_dir, "evaluation/hazard")
    kinds = {col.CLIENT_ID: "int", "month_end": "date", "hazard": "float"}
    hazards = read_frame(engine, sql, {"months": needed}, kinds)  # type: ignore[arg-type]
    return oracle_from_hazards(hazards, months)


def oracle_from_hazards(hazards: pd.DataFrame, months: Sequence[dt.date]) -> pd.DataFrame:
    """``1 - prod(1 - h)`` over the window months of each report date in ``months`` (pure)."""
    survival = 1.0 - hazards["hazard"].to_numpy(dtype=float)
    by_month = pd.Series(
        survival, index=pd.MultiIndex.from_arrays([hazards[col.CLIENT_ID], pd.to_datetime(hazards["month_end"])])
    )
    frames = []
    for month in months:
        window = [pd.Timestamp(add_months(month, k)) for k in range(col.LABEL_HORIZON_MONTHS)]
        part = by_month[by_month.index.get_level_values(1).isin(window)]
        product = part.groupby(level=0).prod()
        frames.append(
            pd.DataFrame(
                {
                    col.CLIENT_ID: product.index.to_numpy(),
                    col.REPORT_DATE: pd.Timestamp(month),
                    "oracle": 1.0 - product.to_numpy(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True).astype({col.REPORT_DATE: "datetime64[s]"})
