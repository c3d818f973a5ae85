"""Client attributes as of the report date, on both engines: eligibility, profile, labels, facts, the check."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from sqlalchemy.engine import Engine

from rko_model import columns as col
from rko_model.common.dates import add_months
from rko_model.settings import Settings
from rko_model.stages.labels import extract_labels
from rko_model.stages.snapshot import extract_client_facts, extract_snapshot
from rko_model.warehouse.attribute_history import check_attribute_history
from tests.conftest import R
from tests.helpers import eligible_client, insert, run, table

LATER = add_months(R, 3)


def _ids(engine: Engine, settings: Settings, report_date: dt.date = R) -> set[int]:
    return set(extract_snapshot(engine, report_date, settings)[col.CLIENT_ID])


def _history_of(engine: Engine, client: int) -> pd.DataFrame:
    rows = table(engine, "client_attributes")
    return rows[rows[col.CLIENT_ID] == client].sort_values("valid_from").reset_index(drop=True)


def _row(values: dict[str, object], **changed: object) -> dict[str, object]:
    """An attribute row for :func:`insert`: missing values as None, dates as dates."""
    out = {**values, **changed}
    out = {k: (None if v is None or (not isinstance(v, str) and pd.isna(v)) else v) for k, v in out.items()}
    for key in ("valid_from", "valid_to"):
        if isinstance(out[key], pd.Timestamp):
            out[key] = out[key].date()
    if out["headcount"] is not None:
        out["headcount"] = int(out["headcount"])  # type: ignore[call-overload]
    return out


def _split(engine: Engine, client: int, day: dt.date, **changed: object) -> None:
    """Give ``client`` new attribute values from ``day`` on: the row valid then ends, a new one starts."""
    rows = _history_of(engine, client)
    stamp = pd.Timestamp(day)
    current = rows[(rows["valid_from"] <= stamp) & (rows["valid_to"].isna() | (rows["valid_to"] > stamp))].iloc[0]
    run(
        engine,
        "UPDATE client_attributes SET valid_to = :d WHERE client_id = :c AND valid_from = :f",
        d=day,
        c=client,
        f=current["valid_from"].date(),
    )
    insert(engine, "client_attributes", [_row(current.to_dict(), **changed, valid_from=day)])


def _set_at(engine: Engine, client: int, day: dt.date, **values: object) -> None:
    """Change the values of the row valid at ``day`` only (its neighbours stay)."""
    rows = _history_of(engine, client)
    stamp = pd.Timestamp(day)
    row = rows[(rows["valid_from"] <= stamp) & (rows["valid_to"].isna() | (rows["valid_to"] > stamp))].iloc[0]
    sets = ", ".join(f"{k} = :{k}" for k in values)
    run(
        engine,
        f"UPDATE client_attributes SET {sets} WHERE client_id = :c AND valid_from = :f",
        c=client,
        f=row["valid_from"].date(),
        **values,
    )


def test_a_client_mid_size_at_r_and_smb_later_is_not_in_the_snapshot_of_r(tiny: tuple[Engine, Settings]) -> None:
    engine, settings = tiny
    client = eligible_client(engine, settings, R)
    _set_at(engine, client, R, segment="MID")
    _split(engine, client, R + dt.timedelta(days=10), segment="SMB")
    # Today's value (clients.segment) says SMB; the history says mid-size at R.
    assert table(engine, "clients").set_index(col.CLIENT_ID).loc[client, "segment"] == "SMB"
    assert client not in _ids(engine, settings, R)
    assert client in _ids(engine, settings, LATER)
    assert client not in set(extract_labels(engine, R, settings)[col.CLIENT_ID])


def test_a_client_whose_okved_was_excluded_at_r_is_left_out_then_included(tiny: tuple[Engine, Settings]) -> None:
    engine, settings = tiny
    client = eligible_client(engine, settings, R)
    _set_at(engine, client, R, okved_code="64.19")
    _split(engine, client, add_months(R, 1), okved_code="62.01")
    assert client not in _ids(engine, settings, R)
    later = extract_snapshot(engine, LATER, settings).set_index(col.CLIENT_ID)
    assert later.loc[client, "okved_code"] == "62.01" and later.loc[client, "okved_class"] == "62"


def test_a_current_value_alone_changes_nothing(tiny: tuple[Engine, Settings]) -> None:
    """clients' own segment and OKVED are today's values: no snapshot reads them."""
    engine, settings = tiny
    before = extract_snapshot(engine, R, settings)
    run(engine, "UPDATE clients SET segment = 'MID', okved_code = '64.19', region_code = '01'")
    pd.testing.assert_frame_equal(before, extract_snapshot(engine, R, settings))


def test_the_profile_is_the_row_valid_at_r(tiny: tuple[Engine, Settings]) -> None:
    engine, settings = tiny
    client = eligible_client(engine, settings, R)
    _set_at(engine, client, R, region_code="16", headcount=77, declared_revenue=5e6, okved_code="47.91")
    _split(engine, client, R + dt.timedelta(days=1), region_code="50", headcount=5, declared_revenue=1e5)
    row = extract_snapshot(engine, R, settings).set_index(col.CLIENT_ID).loc[client]
    assert (row["region_code"], row["headcount"], row["declared_revenue"]) == ("16", 77.0, 5e6)
    assert row["okved_code"] == "47.91"
    later = extract_snapshot(engine, LATER, settings).set_index(col.CLIENT_ID).loc[client]
    assert (later["region_code"], later["headcount"]) == ("50", 5.0)


def test_random_mutations_of_the_history_after_r_leave_the_snapshot_byte_identical(
    tiny: tuple[Engine, Settings],
) -> None:
    engine, settings = tiny
    before = extract_snapshot(engine, R, settings)
    labels_before = extract_labels(engine, R, settings)
    rows = table(engine, "client_attributes")
    rng = np.random.default_rng(13)
    stamp = pd.Timestamp(R)
    later_rows = rows[rows["valid_from"] > stamp]
    assert len(later_rows) > 20  # the generated history changes after R
    # 1. Rows that start after R get other values (including moves out of SMB and into excluded OKVED).
    for row in later_rows.sample(n=min(60, len(later_rows)), random_state=1).itertuples(index=False):
        run(
            engine,
            "UPDATE client_attributes SET segment = :s, okved_code = :o, region_code = :g, headcount = :h, "
            "declared_revenue = :v WHERE client_id = :c AND valid_from = :f",
            s=str(rng.choice(["SMB", "MID", "LARGE"])),
            o=str(rng.choice(["64.19", "62.01", "94.99", "47.11"])),
            g=str(rng.choice(["77", "16", "01"])),
            h=int(rng.integers(1, 500)),
            v=float(rng.uniform(1e5, 1e10)),
            c=int(row.client_id),
            f=row.valid_from.date(),
        )
    # 2. Rows valid at R get new versions starting after R, on random days.
    valid_at_r = rows[(rows["valid_from"] <= stamp) & (rows["valid_to"].isna() | (rows["valid_to"] > stamp))]
    for client in valid_at_r[col.CLIENT_ID].sample(n=40, random_state=2):
        day = R + dt.timedelta(days=int(rng.integers(1, 20)))
        _split(engine, int(client), day, segment=str(rng.choice(["MID", "LARGE"])), okved_code="64.92")
    # 3. Rows that start after R are deleted outright, leaving a gap after the row before them.
    gone = later_rows.sample(n=10, random_state=3)
    for row in gone.itertuples(index=False):
        run(
            engine,
            "DELETE FROM client_attributes WHERE client_id = :c AND valid_from = :f",
            c=int(row.client_id),
            f=row.valid_from.date(),
        )
    after = extract_snapshot(engine, R, settings)
    assert before.to_csv(index=False).encode() == after.to_csv(index=False).encode()
    pd.testing.assert_frame_equal(labels_before, extract_labels(engine, R, settings))
    # The same mutation on R itself does show: the test can see changes.
    client = int(before[col.CLIENT_ID].iloc[0])
    _split(engine, client, R, segment="MID")
    assert client not in _ids(engine, settings, R)


def test_validation_facts_are_the_attributes_at_r(tiny: tuple[Engine, Settings]) -> None:
    engine, settings = tiny
    client = eligible_client(engine, settings, R)
    _set_at(engine, client, R, okved_code="64.19")
    _split(engine, client, R + dt.timedelta(days=1), segment="MID", okved_code="62.01")
    facts = extract_client_facts(engine, R, settings, np.array([client])).set_index(col.CLIENT_ID)
    assert (facts.loc[client, "segment"], facts.loc[client, "okved_code"]) == ("SMB", "64.19")
    later = extract_client_facts(engine, LATER, settings, np.array([client])).set_index(col.CLIENT_ID)
    assert (later.loc[client, "segment"], later.loc[client, "okved_code"]) == ("MID", "62.01")


def test_the_generated_history_passes_the_check(tiny: tuple[Engine, Settings]) -> None:
    engine, settings = tiny
    check = check_attribute_history(engine, settings, R)
    assert check.ok and check.critical == () and check.warnings == ()


def test_overlapping_intervals_are_critical(tiny: tuple[Engine, Settings]) -> None:
    engine, settings = tiny
    client = eligible_client(engine, settings, R)
    first = _history_of(engine, client).iloc[0]
    # A second row that starts inside the first one's interval (and ends with it).
    insert(
        engine,
        "client_attributes",
        [_row(first.to_dict(), valid_from=first["valid_from"].date() + dt.timedelta(days=1))],
    )
    check = check_attribute_history(engine, settings, R)
    assert not check.ok and len(check.critical) == 1
    assert "1 rows of 1 clients start before the client's previous row ends" in check.critical[0]
    assert f"client {client}" in check.critical[0]


def test_an_empty_interval_is_critical(tiny: tuple[Engine, Settings]) -> None:
    engine, settings = tiny
    client = eligible_client(engine, settings, R)
    first = _history_of(engine, client).iloc[0]
    run(
        engine,
        "UPDATE client_attributes SET valid_to = valid_from WHERE client_id = :c AND valid_from = :f",
        c=client,
        f=first["valid_from"].date(),
    )
    check = check_attribute_history(engine, settings, R)
    assert any("end on or before the day they start" in m for m in check.critical)


def test_gaps_are_warnings_and_clients_without_a_row_at_r_are_counted(tiny: tuple[Engine, Settings]) -> None:
    engine, settings = tiny
    client = eligible_client(engine, settings, R)
    rows = _history_of(engine, client)
    stamp = pd.Timestamp(R)
    at_r = rows[(rows["valid_from"] <= stamp) & (rows["valid_to"].isna() | (rows["valid_to"] > stamp))].iloc[0]
    # The row valid at R ends a month before R; the next row (if any) keeps its start: a gap over R.
    run(
        engine,
        "UPDATE client_attributes SET valid_to = :d WHERE client_id = :c AND valid_from = :f",
        d=add_months(R, -1),
        c=client,
        f=at_r["valid_from"].date(),
    )
    if pd.isna(at_r["valid_to"]):  # it was the open row: a new one after R makes the gap a gap, not an end
        insert(
            engine,
            "client_attributes",
            [_row(at_r.to_dict(), valid_from=R + dt.timedelta(days=5), valid_to=None)],
        )
    check = check_attribute_history(engine, settings, R)
    assert check.ok
    assert any("start after the client's previous row ends" in m and f"client {client}" in m for m in check.warnings)
    missing = [m for m in check.warnings if "no attribute row valid at" in m]
    assert len(missing) == 1 and f"1 clients registered and not liquidated at {R.isoformat()}" in missing[0]
    assert client not in _ids(engine, settings, R)


def test_a_client_without_any_row_is_counted_at_r(tiny: tuple[Engine, Settings]) -> None:
    engine, settings = tiny
    clients = eligible_client(engine, settings, R)
    run(engine, "DELETE FROM client_attributes WHERE client_id = :c", c=clients)
    check = check_attribute_history(engine, settings, R)
    assert check.ok and any(f"e.g. client {clients}" in m for m in check.warnings)
    assert clients not in _ids(engine, settings, R)


def test_overlaps_fail_the_monthly_validation(tiny: tuple[Engine, Settings]) -> None:
    """The check runs in the validation step: an overlap is a critical failure before anything is scored."""
    from rko_model.errors import ValidationError
    from rko_model.runs import monthly

    engine, settings = tiny
    client = eligible_client(engine, settings, R)
    first = _history_of(engine, client).iloc[0]
    insert(
        engine,
        "client_attributes",
        [_row(first.to_dict(), valid_from=first["valid_from"].date() + dt.timedelta(days=1))],
    )
    extracted = monthly.extract(settings, R, "overlap-run")
    with pytest.raises(ValidationError, match="client_attributes: 1 rows of 1 clients start before"):
        monthly.validate(settings, R, "overlap-run", extracted)


def test_the_eligibility_leak_counts_the_clients_today_values_misjudge(tiny: tuple[Engine, Settings]) -> None:
    from rko_model.stages.eligibility_leak import eligibility_changes

    engine, settings = tiny
    client = eligible_client(engine, settings, R)
    # Mid-size today, SMB at R: a current-values reading drops it from R.
    _split(engine, client, R + dt.timedelta(days=3), segment="MID")
    run(engine, "UPDATE clients SET segment = 'MID' WHERE client_id = :c", c=client)
    counts = eligibility_changes(engine, settings, [R]).iloc[0]
    history = _ids(engine, settings, R)
    clients = table(engine, "clients")
    events = table(engine, "product_events")
    stamp = pd.Timestamp(R)
    rko = events[
        (events["product"] == "RKO")
        & (events["open_date"] <= stamp)
        & (events["close_date"].isna() | (events["close_date"] > stamp))
    ][col.CLIENT_ID]
    okved = clients["okved_code"].fillna("")
    current = set(
        clients[
            (clients["segment"] == "SMB")
            & (clients["registration_date"] <= stamp)
            & (clients["liquidation_date"].isna() | (clients["liquidation_date"] > stamp))
            & ~okved.str[:2].isin(["64", "65", "66", "84", "92"])
            & (okved != "94.99")
            & ~clients[col.CLIENT_ID].isin(rko)
        ][col.CLIENT_ID]
    )
    assert client in history - current
    assert counts["eligible_history"] == len(history) and counts["eligible_current_values"] == len(current)
    assert counts["only_history"] == len(history - current) and counts["only_current_values"] == len(current - history)
    assert counts["changed"] == len(history ^ current) > 0


def test_the_generator_records_history_and_its_hazard_reads_the_values_of_the_time() -> None:
    """Segments, OKVED codes and regions change; the population the hazard reads follows the history month by month."""
    from dataclasses import replace as dc_replace

    from rko_model.common.dates import add_months as plus
    from rko_model.common.dates import month_ends
    from rko_model.common.exclusions import load_exclusions
    from rko_model.settings import PROJECT_ROOT
    from rko_model.synth import catalog
    from rko_model.synth.generator import _draw_population, _rng
    from rko_model.synth.history import draw_history
    from rko_model.synth.spec import BankSpec, Effects

    spec = BankSpec(n_clients=6000, n_months=24, seed=21)
    ends = month_ends(spec.last_month, spec.n_months)
    start = np.datetime64(plus(ends[0], -1) + dt.timedelta(days=1), "D")
    pop = _draw_population(spec, Effects(), start)
    history = draw_history(pop, ends, lambda t: _rng(spec, "attributes", t))
    rows = history.rows()
    codes = np.array([x.code for x in catalog.INDUSTRIES])
    exclusions = load_exclusions(PROJECT_ROOT / "config" / "okved_exclusions.txt")
    ordered = rows.sort_values([col.CLIENT_ID, "valid_from"])
    previous = ordered.groupby(col.CLIENT_ID).shift(1)
    later = previous["segment"].notna()
    assert ((previous["segment"] == "SMB") & (ordered["segment"] == "MID") & later).sum() > 10
    assert ((previous["segment"] == "MID") & (ordered["segment"] == "SMB") & later).sum() > 10
    was = previous["okved_code"].map(lambda c: exclusions.excludes(c) if isinstance(c, str) else None)
    now = ordered["okved_code"].map(lambda c: exclusions.excludes(c) if isinstance(c, str) else None)
    assert ((was == False) & (now == True)).sum() > 0 and ((was == True) & (now == False)).sum() > 0  # noqa: E712
    assert (later & (previous["region_code"] != ordered["region_code"])).sum() > 10
    # Intervals meet: each row ends where the client's next one starts; the last one is open.
    following = ordered.groupby(col.CLIENT_ID)["valid_from"].shift(-1)
    assert (ordered["valid_to"].isna() == following.isna()).all()
    assert (ordered["valid_to"].dropna() == following.dropna()).all()
    # The clients table holds the last values.
    current = history.current().set_index(col.CLIENT_ID)
    last = ordered.groupby(col.CLIENT_ID).tail(1).set_index(col.CLIENT_ID)
    assert (current["segment"] == last["segment"]).all()
    # Month by month, the population the hazard reads holds the values valid at that month end.
    live = dc_replace(pop, segment=pop.segment.copy(), industry=pop.industry.copy(), region=pop.region.copy())
    index = pd.Series(np.arange(pop.size), index=pop.client_id)
    for t, end in enumerate(ends):
        history.apply(live, t)
        if t % 6 != 5:
            continue
        stamp = pd.Timestamp(end)
        at = rows[(rows["valid_from"] <= stamp) & (rows["valid_to"].isna() | (rows["valid_to"] > stamp))]
        at = at.set_index(col.CLIENT_ID)
        assert at.index.is_unique and len(at) == int((pop.registration <= np.datetime64(end)).sum())
        idx = index.loc[at.index].to_numpy()
        assert (live.segment[idx] == at["segment"].to_numpy()).all()
        known = at["okved_code"].notna().to_numpy()
        assert (codes[live.industry[idx]][known] == at["okved_code"].to_numpy()[known]).all()
    changed = (live.segment != pop.segment).sum()
    assert changed > 0  # pop was not changed by the history itself
