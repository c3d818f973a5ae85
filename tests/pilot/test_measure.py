"""The measurement's statistics on frames with a known truth: intervals cover it, no effect means inconclusive."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd

from rko_model.pilot.arms import assign_arms
from rko_model.pilot.config import CONTROL, MODEL, RULES, PilotConfig
from rko_model.pilot.measure import (
    FIRST,
    INCONCLUSIVE,
    MODEL_VS_RULES,
    POSITIVE,
    contact_range,
    difference_interval,
    measure_month,
    minimum_detectable_effect,
    months_needed,
    pooled,
    wilson,
)

PILOT = PilotConfig(name="t", salt="t", model_share=0.4, rules_share=0.4, control_share=0.2, contact_share=0.3)
MONTH = dt.date(2026, 10, 31)


def _month(seed: int, n: int, effect: float, rules_quality: float = 0.3) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """A list with arms, ranks, contacts by the pilot's rule and outcomes drawn with a known contact effect."""
    rng = np.random.default_rng(seed)
    ids = np.arange(n, dtype=np.int64) + 10_000_000
    propensity = 1 / (1 + np.exp(-(rng.normal(-3.0, 1.0, n))))
    rank = pd.Series(-propensity).rank(method="first").to_numpy(dtype=np.int64)
    noisy = np.log(propensity) + rng.normal(0, 1 / rules_quality, n)
    rules_rank = pd.Series(-noisy).rank(method="first").to_numpy(dtype=np.int64)
    arm = assign_arms(ids + seed * n, PILOT)
    listed = pd.DataFrame({"client_id": ids, "rank": rank, "rules_rank": rules_rank, "arm": arm})
    volume = round(PILOT.contact_share * min((arm == MODEL).sum(), (arm == RULES).sum()))
    chosen = [listed[listed["arm"] == a].nsmallest(volume, r) for a, r in ((MODEL, "rank"), (RULES, "rules_rank"))]
    contacts = pd.concat(chosen).assign(channel="banner")[["client_id", "channel", "arm"]]
    treated = listed["client_id"].isin(contacts["client_id"]).to_numpy()
    p = np.where(treated, np.clip(propensity + effect, 0, 1), propensity)
    listed["target"] = (rng.random(n) < p).astype(int)
    truth = {
        a: float(np.mean(np.clip(propensity + effect, 0, 1)[treated & (arm == a)] - propensity[treated & (arm == a)]))
        for a in (MODEL, RULES)
    }
    truth["model_vs_rules"] = float(p[treated & (arm == MODEL)].mean() - p[treated & (arm == RULES)].mean())
    return listed, contacts, truth


def test_wilson_and_newcombe_match_known_values() -> None:
    low, high = wilson(10, 100)
    assert math.isclose(low, 0.0552, abs_tol=1e-4) and math.isclose(high, 0.1744, abs_tol=1e-4)
    d, low, high = difference_interval(56, 70, 48, 80)  # Newcombe (1998), example (a): 0.2, [0.0524, 0.3339]
    assert math.isclose(d, 0.2) and math.isclose(low, 0.0524, abs_tol=1e-3) and math.isclose(high, 0.3339, abs_tol=1e-3)


def test_no_effect_gives_intervals_around_zero_at_the_stated_rate() -> None:
    """Without a contact effect the model arm's interval holds zero in about 95% of months, and says inconclusive."""
    covered, verdicts = 0, []
    for seed in range(150):
        listed, contacts, _ = _month(seed, 6000, effect=0.0)
        model = next(line for line in measure_month(MONTH, listed, contacts, PILOT) if line.line == MODEL)
        covered += model.ci_low <= 0 <= model.ci_high
        verdicts.append(model.verdict)
    assert 0.89 <= covered / 150 <= 0.995
    assert all(v == INCONCLUSIVE for v in verdicts if v not in ("positive", "negative"))
    listed, contacts, _ = _month(7, 6000, effect=0.0)
    model = next(line for line in measure_month(MONTH, listed, contacts, PILOT) if line.line == MODEL)
    assert model.ci_low <= 0 <= model.ci_high and model.verdict == INCONCLUSIVE


def test_a_known_effect_is_recovered_within_its_interval() -> None:
    listed, contacts, truth = _month(1, 60_000, effect=0.04)
    lines = {line.line: line for line in measure_month(MONTH, listed, contacts, PILOT)}
    model, rules, control = lines[MODEL], lines[RULES], lines[CONTROL]
    assert model.ci_low <= truth[MODEL] <= model.ci_high and model.verdict == POSITIVE
    assert rules.ci_low <= truth[RULES] <= rules.ci_high
    assert control.contacted == 0 and math.isnan(control.increment)
    vs = lines[MODEL_VS_RULES]
    assert (
        np.sign(vs.increment) == np.sign(truth["model_vs_rules"]) and vs.ci_low <= truth["model_vs_rules"] <= vs.ci_high
    )
    assert model.cost_per_incremental_opening == model.contact_cost / (model.increment * model.contacted)
    assert model.months_needed >= 1 and model.mde > 0


def test_pooling_months_narrows_the_interval() -> None:
    frames = []
    for seed in range(4):
        listed, contacts, _ = _month(seed, 8000, effect=0.03)
        frames.append(pd.DataFrame([line.row() for line in measure_month(MONTH, listed, contacts, PILOT)]))
    lines = pd.concat(frames, ignore_index=True)
    one = lines[lines["line"] == MODEL].iloc[0]
    together = pooled(lines, MODEL, PILOT.target_increment)
    assert together["months"] == 4
    assert together["ci_high"] - together["ci_low"] < one["ci_high"] - one["ci_low"]


def test_minimum_detectable_effect_and_months_needed() -> None:
    mde = minimum_detectable_effect(0.05, 1000, 500)
    assert math.isclose(mde, 2.8016 * math.sqrt(0.05 * 0.95 * (1 / 1000 + 1 / 500)), rel_tol=1e-3)
    assert months_needed(0.04, 0.01) == 16  # the MDE halves when the months quadruple
    assert math.isnan(minimum_detectable_effect(0.05, 0, 10))


def test_first_contacts_escape_the_attrition_of_later_months() -> None:
    """From the second month the persuaded have left the contacted arm: its increment reads low; first contacts do not.

    Three months of one population with persistent propensities; contacts multiply the
    propensity by 1.5; whoever opens leaves the next month's list.
    """
    rng = np.random.default_rng(8)  # a fixed draw: each 95% interval misses its truth in 1 draw of 20
    n = 300_000
    ids = np.arange(n, dtype=np.int64) + 10_000_000
    p = 1 / (1 + np.exp(-rng.normal(-2.0, 1.2, n)))
    arm = assign_arms(ids, PILOT)
    alive = np.ones(n, dtype=bool)
    earlier: dict[str, set[int]] = {MODEL: set(), RULES: set()}
    for month in range(3):
        idx = np.flatnonzero(alive)
        q = p[idx]
        listed = pd.DataFrame(
            {
                "client_id": ids[idx],
                "rank": pd.Series(-q).rank(method="first").to_numpy(dtype=np.int64),
                "rules_rank": pd.Series(-(np.log(q) + rng.normal(0, 2, len(q))))
                .rank(method="first")
                .to_numpy(np.int64),
                "arm": arm[idx],
            }
        )
        volume = round(PILOT.contact_share * min((listed["arm"] == MODEL).sum(), (listed["arm"] == RULES).sum()))
        chosen = [listed[listed["arm"] == a].nsmallest(volume, r) for a, r in ((MODEL, "rank"), (RULES, "rules_rank"))]
        contacts = pd.concat(chosen).assign(channel="banner")[["client_id", "channel", "arm"]]
        treated = listed["client_id"].isin(contacts["client_id"]).to_numpy()
        gain = np.minimum(1.0, 1.5 * q) - q
        listed["target"] = (rng.random(len(q)) < q + gain * treated).astype(int)
        first = listed["client_id"].isin(set(contacts.loc[contacts["arm"] == MODEL, "client_id"]) - earlier[MODEL])
        truth_all = gain[treated & (listed["arm"] == MODEL).to_numpy()].mean()
        truth_first = gain[first.to_numpy()].mean()
        lines = {
            line.line: line for line in measure_month(dt.date(2026, month + 1, 28), listed, contacts, PILOT, earlier)
        }
        whole, fresh = lines[MODEL], lines[FIRST[MODEL]]
        assert fresh.ci_low <= truth_first <= fresh.ci_high, (month, fresh, truth_first)
        if month == 0:  # nobody was contacted before: the two lines are one
            assert fresh.increment == whole.increment and fresh.contacted == whole.contacted
        else:
            assert whole.ci_high < truth_all, (month, whole, truth_all)
            assert 0 < fresh.contacted < whole.contacted
            # both sides of the first-contact line were never in the range before
            assert not (earlier[MODEL] & set(listed.loc[first, "client_id"]))
        for a, ids_in_range in contact_range(listed, contacts).items():
            earlier[a] |= ids_in_range
        alive[idx[listed["target"].to_numpy() == 1]] = False
