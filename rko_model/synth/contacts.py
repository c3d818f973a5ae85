"""How the synthetic bank answers marketing contacts: a heterogeneous effect on the monthly hazard.

A contact made from the list of report date R happens in the month after R and raises the
client's log-odds of opening RKO for the 3 months of R's label window. The effect differs by
client: most clients are *persuadable* (a lift drawn per client), clients who would open
anyway (*sure things*, a high hazard) gain little because the lift fades with the hazard,
and a few are *put off* (a negative lift). A banner moves a client less than a client
manager's call.

The bank's history holds the contacts of the old process: each month the business rules
(``docs/business_rules.md``, read from what the generator has seen of the client) pick the
top of the eligible SMB clients, and a random holdout of that selection is not contacted.
A simulation injects the optimizer's contacts (:class:`ContactPlan`); the generator is rerun
with the same seed, so everything before a contact is identical. For every contact the
generator writes the true 3-month propensity with and without it (``synthetic_contact_truth``),
over the hazards of the window's three real months, once the window has closed: the true
expected increment that the pilot's measurement is tested against. "Without" is with
no contact at all, "with" is with every contact acting on the client in that window: the
estimand of a pilot that compares contacted rows with a never-contacted control group.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rko_model import columns as col
from rko_model.synth import catalog

#: Stream of the per-client contact traits and of the legacy process's draws (the generator's own are 0-6).
CONTACT_STREAM = 7
BANNER, MANAGER = "banner", "manager"
LEGACY_ARM = "rules"
LEGACY_CAMPAIGN = "legacy_rules"
CONTACT_DATE = "contact_date"


@dataclass(frozen=True)
class ContactEffects:
    """Sizes of the contact effect, in monthly log-odds, and the old process's volumes."""

    persuadable_lift: float = 1.2
    lift_sd: float = 0.5
    #: Monthly log-odds around which the lift fades: clients above it open anyway.
    sure_thing_logit: float = -3.0
    put_off_share: float = 0.05
    put_off_lift: float = -0.8
    banner_weight: float = 0.5
    legacy_share: float = 0.1
    legacy_holdout: float = 0.1
    legacy_manager_share: float = 0.2


@dataclass(frozen=True)
class ContactPlan:
    """What the bank is told about contacts: the effects, injected contacts, and until when the old process ran.

    ``injected`` has the columns of ``marketing_contacts`` (client_id, contact_date, channel,
    campaign_id, arm). The old rules process contacts from the lists of report dates before
    ``legacy_until`` (every month when None).
    """

    effects: ContactEffects = field(default_factory=ContactEffects)
    injected: pd.DataFrame | None = None
    legacy_until: dt.date | None = None


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class ContactBook:
    """The contacts known to the generator and their effect on each month's hazard."""

    def __init__(self, client_id: np.ndarray, ends: list[dt.date], seed: int, plan: ContactPlan | None) -> None:
        self.plan = plan or ContactPlan()
        fx = self.plan.effects
        rng = np.random.default_rng([seed, CONTACT_STREAM, 0])
        n = len(client_id)
        self.offset = int(client_id[0]) if n else 0
        self.n = n
        self.seed = seed
        put_off = rng.random(n) < fx.put_off_share
        spread = np.exp(rng.normal(-(fx.lift_sd**2) / 2, fx.lift_sd, n))
        #: A client manager's lift on each client's log-odds, before the fade.
        self.lift = np.where(put_off, fx.put_off_lift, fx.persuadable_lift * spread)
        self.ends = ends
        self.month_index = {e: i for i, e in enumerate(ends)}
        #: report month index -> (client index, channel weight) of the contacts made from that month's list.
        self.by_month: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        #: report month index -> the injected contacts made from that month's list (written back as they are).
        self.injected_rows: dict[int, pd.DataFrame] = {}
        #: report month index -> (contacted clients, log(1 - h) summed so far with and without contacts): the
        #: truths of lists whose window is still open.
        self._open: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        if self.plan.injected is not None and len(self.plan.injected):
            self._add_injected(self.plan.injected)

    def _report_index(self, contact_dates: pd.Series) -> np.ndarray:
        """The index of the report month whose list a contact came from: the month before the contact."""
        months = pd.to_datetime(contact_dates).dt.to_period("M")
        first = pd.Period(self.ends[0], "M")
        return np.asarray((months - first).map(lambda d: d.n).to_numpy(), dtype=np.int64) - 1

    def _weight(self, channel: np.ndarray) -> np.ndarray:
        return np.where(np.asarray(channel) == MANAGER, 1.0, self.plan.effects.banner_weight)

    def _add_injected(self, frame: pd.DataFrame) -> None:
        index = frame[col.CLIENT_ID].to_numpy(dtype=np.int64) - self.offset
        known = (index >= 0) & (index < self.n)
        report = self._report_index(frame[CONTACT_DATE])[known]
        weight = self._weight(frame["channel"].to_numpy())[known]
        rows = frame[known].reset_index(drop=True)
        for r in np.unique(report):
            take = report == r
            self._add(int(r), index[known][take], weight[take])
            self.injected_rows[int(r)] = rows[take].reset_index(drop=True)

    def _add(self, report: int, index: np.ndarray, weight: np.ndarray) -> None:
        if report in self.by_month:
            old_index, old_weight = self.by_month[report]
            index, weight = np.concatenate([old_index, index]), np.concatenate([old_weight, weight])
        self.by_month[report] = (index, weight)

    def _weights(self, t: int, reports: range) -> np.ndarray:
        """Per client, the strongest channel weight among the contacts from the lists of ``reports``."""
        weight = np.zeros(self.n)
        for r in reports:
            if r in self.by_month:
                index, w = self.by_month[r]
                np.maximum.at(weight, index, w)
        return weight

    def _shift(self, logit: np.ndarray, weight: np.ndarray) -> np.ndarray:
        fade = _sigmoid(-2.0 * (logit - self.plan.effects.sure_thing_logit))
        lift = np.where(self.lift > 0, self.lift * fade, self.lift)
        return lift * weight

    def legacy_active(self, end: dt.date) -> bool:
        until = self.plan.legacy_until
        return self.plan.effects.legacy_share > 0 and (until is None or end < until)

    def month(
        self, t: int, hazard: np.ndarray, eligible: np.ndarray, pop: Any, seen: Any, holdings: dict[str, np.ndarray]
    ) -> tuple[np.ndarray, list[tuple[str, pd.DataFrame]]]:
        """The hazard of month ``t`` with the contacts' effects, and the month's contacts and the truths now closed.

        The hazard computed at the end of month t drives openings in month t+1; the contacts
        that act on it come from the lists of months t-2, t-1 and t (a contact lasts for its
        list's 3-month window). In the legacy period the old process picks its contacts from
        the eligible SMB clients of month t by the rules, read from the generator's state
        (``pop``, ``seen``, ``holdings``).
        """
        end = self.ends[t]
        chunks: list[tuple[str, pd.DataFrame]] = []
        if self.legacy_active(end):
            points, turnover = _legacy_view(pop, seen, holdings, np.datetime64(end, "D"))
            self._legacy(t, end, eligible & (pop.segment == col.SMB_SEGMENT), points, turnover, chunks)
        if t in self.injected_rows:
            chunks.append(("marketing_contacts", self.injected_rows[t]))
        weight = self._weights(t, range(t - col.LABEL_HORIZON_MONTHS + 1, t + 1))
        contacted = hazard
        if weight.any():
            h = np.clip(hazard, 1e-12, 1 - 1e-12)
            logit = np.log(h / (1 - h))
            contacted = _sigmoid(logit + self._shift(logit, weight))
        chunks.extend(self._closed_truths(t, hazard, contacted))
        return contacted, chunks

    def _closed_truths(self, t: int, hazard: np.ndarray, contacted: np.ndarray) -> list[tuple[str, pd.DataFrame]]:
        """The truth of every list whose 3-month window ends with month ``t``, over the window's real hazards.

        A list's window is driven by the hazards of its own month and the two after it (each
        drives the next month's openings), so "with" is 1 - (1-h1)(1-h2)(1-h3) over the hazards
        the bank actually drew from, every contact acting, and "without" the same over the
        hazards with no contact. One month's hazard cubed would not do: a client ranked high
        today regresses later, and the pilot's realised increment would miss such a truth.
        """
        if t in self.by_month:
            index = np.unique(self.by_month[t][0])
            self._open[t] = (index, np.zeros(len(index)), np.zeros(len(index)))
        closed = []
        for r in sorted(self._open):
            index, log_with, log_without = self._open[r]
            log_with += np.log1p(-np.clip(contacted[index], 0.0, 1 - 1e-12))
            log_without += np.log1p(-np.clip(hazard[index], 0.0, 1 - 1e-12))
            if t - r + 1 < col.LABEL_HORIZON_MONTHS:
                continue
            del self._open[r]
            frame = pd.DataFrame(
                {
                    col.CLIENT_ID: index + self.offset,
                    "month_end": pd.Timestamp(self.ends[r]),
                    "propensity_without": -np.expm1(log_without),
                    "propensity_with": -np.expm1(log_with),
                }
            )
            closed.append(("synthetic_contact_truth", frame.astype({"month_end": "datetime64[s]"})))
        return closed

    def _legacy(
        self,
        t: int,
        end: dt.date,
        eligible: np.ndarray,
        points: np.ndarray,
        turnover: np.ndarray,
        chunks: list[tuple[str, pd.DataFrame]],
    ) -> None:
        """The old process: the rules' top of the eligible clients, less a random holdout, contacted next month."""
        if t + 1 >= len(self.ends):
            return
        fx = self.plan.effects
        rng = np.random.default_rng([self.seed, CONTACT_STREAM, t + 1])
        candidates = np.flatnonzero(eligible)
        if len(candidates) == 0:
            return
        order = np.lexsort((candidates, -turnover[candidates], -points[candidates]))
        chosen = candidates[order[: round(fx.legacy_share * len(candidates))]]
        manager = np.arange(len(chosen)) < round(fx.legacy_manager_share * len(chosen))
        kept = rng.random(len(chosen)) >= fx.legacy_holdout
        chosen, manager = chosen[kept], manager[kept]
        channel = np.where(manager, MANAGER, BANNER)
        self._add(t, chosen, self._weight(channel))
        nxt = self.ends[t + 1]
        days = rng.integers(0, 10, len(chosen))
        dates = np.datetime64(nxt.replace(day=1), "D") + days.astype("timedelta64[D]")
        chunks.append(
            (
                "marketing_contacts",
                pd.DataFrame(
                    {
                        col.CLIENT_ID: chosen + self.offset,
                        CONTACT_DATE: pd.Series(dates.astype("datetime64[s]")),
                        "channel": channel,
                        "campaign_id": f"{LEGACY_CAMPAIGN}_{end:%Y%m}",
                        "arm": LEGACY_ARM,
                    }
                ),
            )
        )


def _legacy_view(
    pop: Any, seen: Any, holdings: dict[str, np.ndarray], stop: np.datetime64
) -> tuple[np.ndarray, np.ndarray]:
    """The points of ``docs/business_rules.md`` and the 3-month turnover, from what the bank has seen of each client.

    The generator's own reading of the rules (the old process ran on the bank's systems, not on
    the snapshot), with the same thresholds as ``rko_model.model.baselines.RULES``.
    """
    age_months = (stop - pop.registration) // np.timedelta64(1, "D") / 30.44
    turnover = np.nansum(seen.turnover[:, -3:], axis=1)
    clicks = seen.clicks.sum(axis=1)
    credit_or_deposit = (holdings["CREDIT"] > stop) | (holdings["DEPOSIT"] > stop)
    capital = np.isin(np.array([r[0] for r in catalog.REGIONS])[pop.region], catalog.CAPITALS)
    points = (
        2 * (age_months < 36).astype(np.int64)
        + (turnover > 1_000_000)
        + (clicks > 0)
        + credit_or_deposit
        + capital
        - (pop.legal_form == "ИП")
    )
    return points.astype(np.int64), turnover
