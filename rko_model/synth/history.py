"""The history of what the synthetic bank records about its clients: segment, OKVED, region, headcount, revenue.

A real bank's client attributes change: companies grow out of SMB (or shrink into it) as
their revenue changes, change their main OKVED code and their registered region, and
re-declare revenue and headcount every year. The whole history is drawn up front, from the
clients' static traits and a random stream of its own, so that ``clients`` (the current
values) can be written before the months, and ``client_attributes`` (the history) after them.

The generator's month loop calls :meth:`AttributeHistory.apply` before it draws a month's
hazard, so the hazard reads the segment, OKVED and region the bank recorded at that month
end, never later ones.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from rko_model.synth import catalog

_DAY = np.timedelta64(1, "D")

#: Yearly probability that a client changes its main OKVED code (into any industry, the
#: excluded ones included, so some clients move into or out of the exclusion list).
OKVED_CHANGE_PER_YEAR = 0.04
#: Yearly probability that a client moves its registration to another region.
REGION_MOVE_PER_YEAR = 0.01
#: Log declared revenue above which an SMB client is reclassified mid-size at its declaration,
#: and below which a mid-size one falls back to SMB (a gap between them, so that noise does not flip them).
SMB_CEILING_LOG_REVENUE = 18.3
MID_FLOOR_LOG_REVENUE = 17.8
#: Spread of the yearly change of log revenue around the client's growth, and of log headcount.
REVENUE_NOISE_SD = 0.25
HEADCOUNT_NOISE_SD = 0.15
#: Months a company must have existed before its first yearly re-declaration.
FIRST_DECLARATION_MONTHS = 6


@dataclass
class AttributeState:
    """One value per client of every recorded attribute (indices into the catalogue for OKVED and region)."""

    segment: np.ndarray
    industry: np.ndarray
    region: np.ndarray
    headcount: np.ndarray  # float, NaN when not declared
    revenue: np.ndarray  # float, NaN when not declared

    def copy(self) -> AttributeState:
        return AttributeState(*(a.copy() for a in self.arrays()))

    def arrays(self) -> tuple[np.ndarray, ...]:
        return (self.segment, self.industry, self.region, self.headcount, self.revenue)


@dataclass
class _Changes:
    """Rows that start within the data span: the client (index), the month, the first day, the new values."""

    client: list[np.ndarray] = field(default_factory=list)
    month: list[np.ndarray] = field(default_factory=list)
    day: list[np.ndarray] = field(default_factory=list)
    values: list[AttributeState] = field(default_factory=list)


@dataclass
class AttributeHistory:
    """The initial attributes (valid from registration), every later change, and the values at the end."""

    client_id: np.ndarray
    registration: np.ndarray  # datetime64[D]
    initial: AttributeState
    final: AttributeState
    change_client: np.ndarray
    change_month: np.ndarray
    change_day: np.ndarray  # datetime64[D]
    changes: AttributeState  # the full row of values after each change

    def apply(self, pop, t: int) -> None:  # type: ignore[no-untyped-def]
        """Set ``pop``'s segment, industry and region to those recorded by month ``t``'s end."""
        rows = np.flatnonzero(self.change_month == t)
        idx = self.change_client[rows]
        pop.segment[idx] = self.changes.segment[rows]
        # A code the client never declared stays the hidden trait's (the hazard needs one).
        pop.industry[idx] = np.where(self.changes.industry[rows] >= 0, self.changes.industry[rows], pop.industry[idx])
        pop.region[idx] = np.where(self.changes.region[rows] >= 0, self.changes.region[rows], pop.region[idx])

    def rows(self) -> pd.DataFrame:
        """``client_attributes``: one row per client and period, ``valid_to`` the next row's ``valid_from``."""
        n = len(self.client_id)
        client = np.concatenate([np.arange(n), self.change_client])
        start = np.concatenate([self.registration, self.change_day])
        values = [np.concatenate([a, b]) for a, b in zip(self.initial.arrays(), self.changes.arrays(), strict=True)]
        order = np.lexsort((start, client))
        client, start = client[order], start[order]
        values = [v[order] for v in values]
        same_next = np.r_[client[1:] == client[:-1], False]
        valid_to = np.where(same_next, np.r_[start[1:], start[:1]], np.datetime64("NaT"))
        return _frame(self.client_id[client], start, valid_to, AttributeState(*values))

    def current(self) -> pd.DataFrame:
        """The values at the end of the data: what a bank's ``clients`` table holds today."""
        return _frame(self.client_id, None, None, self.final)


def _frame(ids: np.ndarray, start, valid_to, s: AttributeState) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    okved = np.array([x.code for x in catalog.INDUSTRIES], dtype=object)
    regions = np.array([r[0] for r in catalog.REGIONS], dtype=object)
    frame = pd.DataFrame({"client_id": ids})
    if start is not None:
        frame["valid_from"] = pd.Series(start.astype("datetime64[s]"))
        frame["valid_to"] = pd.Series(valid_to.astype("datetime64[s]"))
    frame["segment"] = s.segment
    frame["okved_code"] = np.where(s.industry >= 0, okved[np.maximum(s.industry, 0)], None)
    frame["region_code"] = np.where(s.region >= 0, regions[np.maximum(s.region, 0)], None)
    frame["headcount"] = pd.array(np.where(np.isnan(s.headcount), np.nan, s.headcount), dtype="Float64").astype("Int64")
    frame["declared_revenue"] = s.revenue
    return frame


def draw_history(
    pop,  # type: ignore[no-untyped-def]
    ends: list[dt.date],
    rng_of,  # type: ignore[no-untyped-def]
) -> AttributeHistory:
    """Draw every client's attribute history over the months ``ends``; ``rng_of(t)`` gives month t's stream.

    Revenue and headcount are re-declared once a year, in a month of the client's own; a
    re-declared revenue past the SMB ceiling (or below the mid-size floor) moves the client
    to the other segment. OKVED changes and region moves happen at any month. Missing values
    (an OKVED, a region, a headcount or a revenue the client never declared) stay missing.
    """
    rng = rng_of(-1)
    n = pop.size
    # Which clients never declare a value: drawn once, so a missing value stays missing.
    no_okved = rng.random(n) < 0.01
    no_region = rng.random(n) < 0.005
    no_headcount = rng.random(n) < 0.12
    no_revenue = rng.random(n) < 0.18
    log_revenue = 14.0 + 0.9 * np.log(pop.headcount) + 0.6 * pop.activity + rng.normal(0, 0.5, n)
    declaration_month = rng.integers(1, 13, n)
    log_heads = np.log(pop.headcount.astype(float))

    def declared(heads: np.ndarray, revenue: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h = np.where(no_headcount, np.nan, np.maximum(np.round(np.exp(heads)), 1.0))
        r = np.where(no_revenue, np.nan, np.round(np.exp(revenue), -3))
        return h, r

    heads0, revenue0 = declared(log_heads, log_revenue)
    state = AttributeState(
        segment=pop.segment.copy(),
        industry=np.where(no_okved, -1, pop.industry),
        region=np.where(no_region, -1, pop.region),
        headcount=heads0,
        revenue=revenue0,
    )
    initial = state.copy()
    weights = np.array([i.weight for i in catalog.INDUSTRIES])
    region_w = np.array([r[1] for r in catalog.REGIONS])
    changes = _Changes()
    for t, end in enumerate(ends):
        rng = rng_of(t)
        first = np.datetime64(end.replace(day=1), "D")
        stop = np.datetime64(end, "D")
        days = int((stop - first) // _DAY) + 1
        alive = (pop.registration < first) & (pop.liquidation > stop)
        old_enough = pop.registration <= first - FIRST_DECLARATION_MONTHS * 30 * _DAY
        declares = alive & old_enough & (declaration_month == end.month)
        log_revenue = np.where(
            declares, log_revenue + 12 * pop.growth + rng.normal(0, REVENUE_NOISE_SD, n), log_revenue
        )
        log_heads = np.where(declares, log_heads + 6 * pop.growth + rng.normal(0, HEADCOUNT_NOISE_SD, n), log_heads)
        grows = declares & (state.segment == "SMB") & (log_revenue > SMB_CEILING_LOG_REVENUE)
        shrinks = declares & (state.segment == "MID") & (log_revenue < MID_FLOOR_LOG_REVENUE)
        new_okved = alive & ~no_okved & (rng.random(n) < OKVED_CHANGE_PER_YEAR / 12)
        moves = alive & ~no_region & (rng.random(n) < REGION_MOVE_PER_YEAR / 12)
        changed = declares | new_okved | moves
        if not changed.any():
            continue
        state.segment = np.where(grows, "MID", np.where(shrinks, "SMB", state.segment))
        industry = rng.choice(len(weights), size=n, p=weights / weights.sum())
        state.industry = np.where(new_okved & (industry != state.industry), industry, state.industry)
        region = rng.choice(len(region_w), size=n, p=region_w / region_w.sum())
        state.region = np.where(moves, region, state.region)
        heads, revenue = declared(log_heads, log_revenue)
        state.headcount = np.where(declares, heads, state.headcount)
        state.revenue = np.where(declares, revenue, state.revenue)
        idx = np.flatnonzero(changed)
        changes.client.append(idx)
        changes.month.append(np.full(len(idx), t))
        changes.day.append(first + rng.integers(0, days, len(idx)) * _DAY)
        changes.values.append(AttributeState(*(a[idx] for a in state.arrays())))
    empty = AttributeState(*(a[:0] for a in state.arrays()))
    parts = changes.values or [empty]
    return AttributeHistory(
        client_id=pop.client_id,
        registration=pop.registration.astype("datetime64[D]"),
        initial=initial,
        final=state,
        change_client=np.concatenate(changes.client) if changes.client else np.array([], dtype=np.int64),
        change_month=np.concatenate(changes.month) if changes.month else np.array([], dtype=np.int64),
        change_day=np.concatenate(changes.day) if changes.day else np.array([], dtype="datetime64[D]"),
        changes=AttributeState(*(np.concatenate(x) for x in zip(*(p.arrays() for p in parts), strict=True))),
    )
