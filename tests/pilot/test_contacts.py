"""The synthetic bank answers contacts: identical before a contact, heterogeneous after, the truth written down."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from rko_model.common.dates import month_ends
from rko_model.pilot.simulate import visible
from rko_model.synth.contacts import ContactEffects, ContactPlan
from rko_model.synth.generator import generate
from rko_model.synth.spec import BankSpec

BANK = BankSpec(n_clients=3000, n_months=10, seed=21, last_month=dt.date(2026, 10, 31))
ENDS = month_ends(BANK.last_month, BANK.n_months)
LIST_MONTH = ENDS[5]  # contacts from this list are made in the next month
NO_LEGACY = dict(legacy_share=0.0)


def _tables(plan: ContactPlan) -> dict[str, pd.DataFrame]:
    out: dict[str, list[pd.DataFrame]] = {}
    for name, frame in generate(BANK, contacts=plan):
        out.setdefault(name, []).append(frame)
    return {k: pd.concat(v, ignore_index=True) for k, v in out.items()}


def _eligible_at(tables: dict[str, pd.DataFrame], month: dt.date) -> np.ndarray:
    truth = tables["synthetic_truth"]
    return truth.loc[truth["month_end"] == pd.Timestamp(month), "client_id"].to_numpy()


def _contacts(ids: np.ndarray, channel: str = "manager") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "client_id": ids,
            "contact_date": pd.Timestamp(LIST_MONTH) + pd.Timedelta(days=3),
            "channel": channel,
            "campaign_id": "test",
            "arm": "model",
        }
    ).astype({"contact_date": "datetime64[s]"})


def test_everything_before_a_contact_is_identical_and_the_truth_is_written() -> None:
    fx = ContactEffects(**NO_LEGACY)
    before = _tables(ContactPlan(effects=fx))
    ids = _eligible_at(before, LIST_MONTH)
    after = _tables(ContactPlan(effects=fx, injected=_contacts(ids)))
    cut = pd.Timestamp(LIST_MONTH)
    for name, column in (("account_monthly", "month_end"), ("payments", "payment_date")):
        a, b = (t[name][t[name][column] <= cut].reset_index(drop=True) for t in (before, after))
        pd.testing.assert_frame_equal(a, b, obj=name)
    # the truth of the list month itself already holds the contact (its window follows the list)
    a, b = (
        t["synthetic_truth"][t["synthetic_truth"]["month_end"] < cut].reset_index(drop=True) for t in (before, after)
    )
    pd.testing.assert_frame_equal(a, b)
    events = [t["product_events"] for t in (before, after)]
    keys = ["client_id", "product", "open_date"]
    early = [e.loc[e["open_date"] <= cut, keys].reset_index(drop=True) for e in events]
    pd.testing.assert_frame_equal(*early)
    # the contacts answer: more RKO openings in the list's window, and the truth of every contact
    horizon = cut + pd.DateOffset(months=3)
    opened = [((e["product"] == "RKO") & (e["open_date"] > cut) & (e["open_date"] <= horizon)).sum() for e in events]
    assert opened[1] > opened[0]
    truth = after["synthetic_contact_truth"]
    assert set(truth["client_id"]) == set(ids) and (truth["month_end"] == cut).all()
    assert "synthetic_contact_truth" not in before
    written = after["marketing_contacts"]
    assert len(written) == len(ids) and set(written["campaign_id"]) == {"test"}


def test_the_effect_is_heterogeneous() -> None:
    """Persuadable clients gain, sure things gain little relative to their base, a few are put off; banners less."""
    fx = ContactEffects(**NO_LEGACY)
    ids = _eligible_at(_tables(ContactPlan(effects=fx)), LIST_MONTH)
    manager = _tables(ContactPlan(effects=fx, injected=_contacts(ids)))["synthetic_contact_truth"]
    banner = _tables(ContactPlan(effects=fx, injected=_contacts(ids, "banner")))["synthetic_contact_truth"]
    gain = manager["propensity_with"] - manager["propensity_without"]
    put_off = float((gain < 0).mean())
    assert 0.02 < put_off < 0.09  # the default 5% are put off
    relative = manager["propensity_with"] / manager["propensity_without"] - 1
    sure = manager["propensity_without"] >= manager["propensity_without"].quantile(0.97)
    middle = manager["propensity_without"].between(*manager["propensity_without"].quantile([0.4, 0.6]))
    assert relative[sure & (gain > 0)].median() < 0.5 * relative[middle & (gain > 0)].median()
    banner_gain = (banner["propensity_with"] - banner["propensity_without"])[gain > 0]
    assert banner_gain.mean() < gain[gain > 0].mean()


def test_without_an_effect_the_truth_has_no_increment() -> None:
    fx = ContactEffects(persuadable_lift=0.0, put_off_share=0.0, **NO_LEGACY)
    ids = _eligible_at(_tables(ContactPlan(effects=fx)), LIST_MONTH)
    truth = _tables(ContactPlan(effects=fx, injected=_contacts(ids)))["synthetic_contact_truth"]
    assert np.allclose(truth["propensity_with"], truth["propensity_without"])


def test_the_old_rules_process_contacts_the_history_with_a_holdout() -> None:
    fx = ContactEffects(legacy_share=0.1, legacy_holdout=0.1)
    tables = _tables(ContactPlan(effects=fx, legacy_until=ENDS[6]))
    contacts = tables["marketing_contacts"]
    assert set(contacts["arm"]) == {"rules"} and set(contacts["channel"]) == {"manager", "banner"}
    lists = pd.to_datetime(contacts["campaign_id"].str[-6:], format="%Y%m") + pd.offsets.MonthEnd(0)
    assert lists.max() < pd.Timestamp(ENDS[6])  # the process stops where the pilot's wash-out starts
    for month in ENDS[:6]:
        eligible = len(_eligible_at(tables, month))
        made = int((lists == pd.Timestamp(month)).sum())
        assert 0.6 * 0.1 * eligible < made < 0.1 * eligible  # SMB only, less the 10% holdout
    # SMB at the list's month, by the attribute history (a client may have moved segment since).
    attrs = tables["client_attributes"]
    seen = contacts.assign(list_month=lists).merge(attrs, on="client_id")
    valid_to = pd.to_datetime(seen["valid_to"])
    at_list = (pd.to_datetime(seen["valid_from"]) <= seen["list_month"]) & (
        valid_to.isna() | (valid_to > seen["list_month"])
    )
    assert at_list.groupby([seen["client_id"], seen["campaign_id"]]).sum().eq(1).all()
    assert (seen.loc[at_list, "segment"] == "SMB").all()


def test_the_warehouse_sees_nothing_after_the_cut() -> None:
    cut = ENDS[4]
    stamp = pd.Timestamp(cut)
    for name, frame in visible(generate(BANK), cut):
        for column in ("month_end", "payment_date", "contact_date", "open_date", "registration_date"):
            if column in frame:
                assert (pd.to_datetime(frame[column]) <= stamp).all(), (name, column)
        for column in ("close_date", "liquidation_date"):
            if column in frame:
                assert not (pd.to_datetime(frame[column]) > stamp).any(), (name, column)


def test_the_truth_spans_the_three_real_months_of_the_window() -> None:
    """The truth "with" is 1 - (1-h1)(1-h2)(1-h3) over the hazards the bank drew from in the window's 3 months."""
    fx = ContactEffects(**NO_LEGACY)
    before = _tables(ContactPlan(effects=fx))
    ids = _eligible_at(before, LIST_MONTH)
    after = _tables(ContactPlan(effects=fx, injected=_contacts(ids)))
    window = [pd.Timestamp(m) for m in ENDS[5:8]]

    def product(tables: dict[str, pd.DataFrame]) -> pd.Series:
        hazard = tables["synthetic_hazard"]
        rows = hazard[hazard["month_end"].isin(window)].pivot(index="client_id", columns="month_end", values="hazard")
        return 1 - (1 - rows.dropna()).prod(axis=1)

    truth = after["synthetic_contact_truth"].set_index("client_id")
    real_with = product(after)
    shared = truth.index.intersection(real_with.index)
    assert len(shared) > 0.9 * len(truth)
    assert np.allclose(truth.loc[shared, "propensity_with"], real_with.loc[shared], rtol=1e-9, atol=1e-12)
    # "without": the no-contact bank's hazards (equal but for the few clients whose other products'
    # draws moved with the contacts' openings)
    real_without = product(before)
    same = np.isclose(truth.loc[shared, "propensity_without"], real_without.reindex(shared), rtol=1e-9)
    assert same.mean() > 0.95
    # one month's hazard cubed is not the truth: the window's later months differ
    first = after["synthetic_hazard"]
    cubed = first[first["month_end"] == window[0]].set_index("client_id")["hazard"].reindex(shared)
    assert not np.allclose(truth.loc[shared, "propensity_with"], 1 - (1 - cubed) ** 3)
