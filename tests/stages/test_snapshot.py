"""Snapshots on both engines: eligibility rules, point-in-time correctness, shape and types."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy.engine import Engine

from rko_model import columns as col
from rko_model.common.dates import add_months
from rko_model.errors import IncompleteDataError, InvalidInputError
from rko_model.settings import Settings
from rko_model.stages.snapshot import extract_snapshot
from rko_model.synth.generator import generate
from rko_model.warehouse.bank_writer import write_bank
from tests.conftest import ENGINES, TINY_BANK, R, new_warehouse
from tests.helpers import eligible_client, insert, replaced_by_view, run, table


def test_snapshot_has_one_row_per_client_and_the_declared_columns(bank: Engine, bank_settings: Settings) -> None:
    frame = extract_snapshot(bank, "2026-04-30", bank_settings)
    assert list(frame.columns) == list(col.SNAPSHOT_COLUMNS)
    assert len(frame) > 300
    assert frame[col.CLIENT_ID].is_unique
    assert (frame[col.REPORT_DATE] == pd.Timestamp("2026-04-30")).all()
    for name in col.NUMERIC_FEATURES:
        assert frame[name].dtype == np.float64, name
    for name in (*col.CATEGORICAL_FEATURES, *col.TEXT_FEATURES):
        assert pd.api.types.is_string_dtype(frame[name]), name
    assert frame["region_code"].dropna().str.fullmatch(r"\d{2}").all()
    assert (frame["okved_class"].dropna() == frame["okved_code"].dropna().str[:2]).all()
    # Counts of events are zero when absent, never missing; sizes may be unknown.
    assert not frame[list(col.ZERO_WHEN_ABSENT)].isna().any().any()
    assert frame["headcount"].isna().any() and frame["balance_avg_1m"].isna().any()


def test_windows_nest(bank: Engine, bank_settings: Settings) -> None:
    frame = extract_snapshot(bank, "2026-04-30", bank_settings)
    for stem in ("pay_in_cnt", "pay_out_sum", "app_sessions", "banner_clicks"):
        for shorter, longer in zip(col.WINDOWS, col.WINDOWS[1:], strict=False):
            assert (frame[f"{stem}_{shorter}m"] <= frame[f"{stem}_{longer}m"] + 1e-6).all(), (stem, shorter)
    assert (frame["account_months_12m"] <= 12).all()


def test_every_exclusion_rule_holds(bank: Engine, bank_settings: Settings) -> None:
    report = pd.Timestamp("2026-04-30")
    frame = extract_snapshot(bank, report.date(), bank_settings)
    clients = table(bank, "clients").set_index(col.CLIENT_ID).loc[frame[col.CLIENT_ID]]
    history = table(bank, "client_attributes")
    at = history[(history["valid_from"] <= report) & (history["valid_to"].isna() | (history["valid_to"] > report))]
    at = at.set_index(col.CLIENT_ID).loc[frame[col.CLIENT_ID]]
    assert (at["segment"] == "SMB").all()
    assert (clients["registration_date"] <= report).all()
    assert (clients["liquidation_date"].isna() | (clients["liquidation_date"] > report)).all()
    assert not at["okved_code"].dropna().str[:2].isin(["64", "65", "66", "84", "92"]).any()
    assert not at["okved_code"].isin(["94.99"]).any()
    events = table(bank, "product_events")
    held = events[
        (events["product"] == "RKO")
        & (events["open_date"] <= report)
        & (events["close_date"].isna() | (events["close_date"] > report))
    ]
    assert not frame[col.CLIENT_ID].isin(held[col.CLIENT_ID]).any()
    # ...and the rules are not vacuous: the bank holds clients each rule removes.
    all_clients = table(bank, "clients")
    assert (all_clients["segment"] != "SMB").sum() > 50
    assert all_clients["liquidation_date"].notna().sum() > 20
    assert all_clients["okved_code"].str[:2].isin(["64", "65", "66", "84", "92"]).sum() > 20
    assert len(held) > 200


def test_engines_agree(tmp_path: Path, settings: Settings) -> None:
    frames = []
    for kind in ENGINES:
        engine, url, drop = new_warehouse(kind, tmp_path)
        try:
            write_bank(engine, generate(TINY_BANK))
            frames.append(extract_snapshot(engine, R, replace(settings, warehouse_url=url)))
        finally:
            drop()
    sqlite, postgres = frames
    pd.testing.assert_frame_equal(sqlite, postgres, check_exact=False, rtol=1e-9)
    assert sqlite["payment_text"].notna().sum() > 100


def _ids(engine: Engine, settings: Settings) -> set[int]:
    return set(extract_snapshot(engine, R, settings)[col.CLIENT_ID])


def test_nothing_after_the_report_date_changes_a_feature(tiny: tuple[Engine, Settings]) -> None:
    engine, settings = tiny
    client = eligible_client(engine, settings, R)
    after_r = R + dt.timedelta(days=1)
    # A credit open at R: that it closes later is not known at R.
    credit = dict(client_id=client, product="CREDIT", open_date=add_months(R, -2), close_date=None)
    insert(engine, "product_events", [credit])
    before = extract_snapshot(engine, R, settings)
    next_end = add_months(R, 1)
    run(engine, "DELETE FROM account_monthly WHERE client_id = :c AND month_end = :m", c=client, m=next_end)
    run(engine, "DELETE FROM digital_activity WHERE client_id = :c AND month_end = :m", c=client, m=next_end)
    insert(
        engine,
        "account_monthly",
        [dict(client_id=client, month_end=next_end, avg_balance=9e9, turnover_in=9e9, turnover_out=9e9)],
    )
    insert(
        engine,
        "digital_activity",
        [
            dict(
                client_id=client,
                month_end=next_end,
                app_sessions=999,
                web_sessions=999,
                banner_views=999,
                banner_clicks=999,
            )
        ],
    )
    insert(
        engine,
        "payments",
        [
            dict(
                payment_id=10**9 + i,
                client_id=client,
                payment_date=after_r,
                amount=1e9,
                direction=d,
                counterparty_inn="7700000000",
                purpose="Импорт после отчетной даты",
            )
            for i, d in enumerate(["in", "out"])
        ],
    )
    insert(
        engine,
        "product_events",
        [
            dict(client_id=client, product="DEPOSIT", open_date=after_r, close_date=None),
        ],
    )
    run(
        engine,
        "UPDATE product_events SET close_date = :d WHERE client_id = :c AND product = 'CREDIT'",
        d=after_r,
        c=client,
    )
    insert(
        engine,
        "clients",
        [
            dict(
                client_id=1,
                inn="7700000001",
                legal_form="ООО",
                okved_code="62.01",
                region_code="77",
                registration_date=after_r,
                liquidation_date=None,
                segment="SMB",
                headcount=3,
                declared_revenue=1e6,
            )
        ],
    )
    run(engine, "UPDATE clients SET liquidation_date = :d WHERE client_id = :c", d=after_r, c=client)
    after = extract_snapshot(engine, R, settings)
    pd.testing.assert_frame_equal(before, after)

    # The same kind of change on the report date itself does show: the test can see changes.
    insert(
        engine,
        "payments",
        [
            dict(
                payment_id=2 * 10**9,
                client_id=client,
                payment_date=R,
                amount=1e9,
                direction="in",
                counterparty_inn=None,
                purpose="Импорт в отчетную дату",
            )
        ],
    )
    changed = extract_snapshot(engine, R, settings).set_index(col.CLIENT_ID).loc[client]
    assert changed["pay_in_cnt_1m"] == before.set_index(col.CLIENT_ID).loc[client, "pay_in_cnt_1m"] + 1
    assert changed["payment_text"].startswith("Импорт в отчетную дату")


@pytest.mark.parametrize(
    ("change", "stays"),
    [
        ("UPDATE client_attributes SET segment = 'MID' WHERE client_id = :c", False),
        ("UPDATE clients SET segment = 'MID' WHERE client_id = :c", True),
        ("UPDATE clients SET liquidation_date = :r WHERE client_id = :c", False),
        ("UPDATE clients SET liquidation_date = :r1 WHERE client_id = :c", True),
        ("UPDATE clients SET registration_date = :r1 WHERE client_id = :c", False),
        ("UPDATE client_attributes SET okved_code = '64.19' WHERE client_id = :c", False),
        ("UPDATE client_attributes SET okved_code = '94.99' WHERE client_id = :c", False),
        ("UPDATE client_attributes SET okved_code = '94.11' WHERE client_id = :c", True),
        ("UPDATE client_attributes SET okved_code = NULL WHERE client_id = :c", True),
    ],
    ids=[
        "segment",
        "segment-today-only",
        "liquidated-on-R",
        "liquidated-after-R",
        "registered-after-R",
        "excluded-class",
        "excluded-code",
        "same-class-other-code",
        "okved-missing",
    ],
)
def test_each_exclusion_rule(tiny: tuple[Engine, Settings], change: str, stays: bool) -> None:
    engine, settings = tiny
    client = eligible_client(engine, settings, R)
    run(engine, change, c=client, r=R, r1=R + dt.timedelta(days=1))
    assert (client in _ids(engine, settings)) is stays


@pytest.mark.parametrize(
    ("opened", "closed", "stays"),
    [
        (R, None, False),
        (R + dt.timedelta(days=1), None, True),
        (add_months(R, -6), R, True),
        (add_months(R, -6), R + dt.timedelta(days=1), False),
    ],
    ids=["opened-on-R", "opened-after-R", "closed-on-R", "closed-after-R"],
)
def test_rko_holders_are_not_scored(tiny: tuple[Engine, Settings], opened, closed, stays: bool) -> None:  # type: ignore[no-untyped-def]
    engine, settings = tiny
    client = eligible_client(engine, settings, R)
    insert(engine, "product_events", [dict(client_id=client, product="RKO", open_date=opened, close_date=closed)])
    assert (client in _ids(engine, settings)) is stays


def test_report_date_must_be_a_month_end_inside_the_data(bank: Engine, bank_settings: Settings) -> None:
    with pytest.raises(InvalidInputError, match="not a month end"):
        extract_snapshot(bank, "2026-04-15", bank_settings)
    with pytest.raises(IncompleteDataError, match="after the latest complete month 2026-10-31"):
        extract_snapshot(bank, "2026-11-30", bank_settings)


def test_the_parts_merge_in_client_order_as_pandas_would(bank: Engine, bank_settings: Settings) -> None:
    """The parts read at once become one frame in client-id order, every column and type as concat and sort give."""
    from rko_model.stages.snapshot import merge_parts

    whole = extract_snapshot(bank, R, bank_settings)
    odd = whole[whole[col.CLIENT_ID] % 2 == 1].reset_index(drop=True)
    even = whole[whole[col.CLIENT_ID] % 2 == 0].reset_index(drop=True)
    pd.testing.assert_frame_equal(merge_parts([odd, even]), whole)
    assert merge_parts([even.iloc[:0], odd])[col.CLIENT_ID].tolist() == odd[col.CLIENT_ID].tolist()
    nulls = pd.DataFrame({col.CLIENT_ID: [5.0, np.nan, 2.0], "payment_text": ["e", None, "b"]})
    merged = merge_parts([nulls.iloc[[2]], nulls.iloc[[0, 1]]])  # a broken view's null id sorts last
    assert merged[col.CLIENT_ID].tolist()[:2] == [2.0, 5.0] and pd.isna(merged[col.CLIENT_ID].iloc[2])
    assert merged["payment_text"].tolist()[:2] == ["b", "e"]


def test_a_parallel_read_splits_the_clients_into_consecutive_ids_that_make_the_whole(
    bank: Engine, bank_settings: Settings
) -> None:
    """The parts of a parallel read hold consecutive client ids, about as many clients each; read part by
    part, they are the whole snapshot and concatenate in client-id order (no sort to merge them)."""
    from rko_model.common.partitions import WHOLE
    from rko_model.stages.feature_source import source_queries
    from rko_model.stages.snapshot import eligible_reader, id_ranges, merge_parts, read_snapshot

    ranges = id_ranges(bank, bank_settings, 3)
    assert ranges[0][0] is None and ranges[-1][1] is None
    assert all(a[1] is not None and a[1] == b[0] for a, b in itertools.pairwise(ranges))
    ids = pd.read_sql("SELECT client_id FROM clients", bank)[col.CLIENT_ID]
    sizes = [((low is None) | (ids >= (low or 0))) & ((high is None) | (ids < (high or 0))) for low, high in ranges]
    counts = [int(s.sum()) for s in sizes]
    assert sum(counts) == len(ids) and max(counts) - min(counts) <= 1  # by the clients' count, to one
    whole = extract_snapshot(bank, R, bank_settings)
    sources = source_queries(bank, bank_settings, R)
    parts = []
    for part in ranges:
        with eligible_reader(bank, R, bank_settings, WHOLE, part) as (reader, params):
            parts.append(read_snapshot(reader, params, bank_settings, R, sources))
    assert all(len(p) for p in parts)
    joined = pd.concat(parts, ignore_index=True)
    assert joined[col.CLIENT_ID].is_monotonic_increasing  # already in order, part after part
    pd.testing.assert_frame_equal(merge_parts(parts), whole)


def test_payment_text_keeps_the_newest_purposes(tiny: tuple[Engine, Settings]) -> None:
    """The text holds the newest TEXT_MAX_PAYMENTS purposes of the window, newest first, ties by payment id.

    Both engines agree on it (a per-client backward range scan on PostgreSQL, a window
    function elsewhere); purposes before the text window or without a purpose stay out.
    """
    engine, settings = tiny
    client = eligible_client(engine, settings, R)
    run(engine, "DELETE FROM payments WHERE client_id = :c", c=client)
    n = col.TEXT_MAX_PAYMENTS + 5
    days = [R - dt.timedelta(days=i // 2) for i in range(n)]  # two payments a day: ties on the date
    rows = [
        dict(
            payment_id=5 * 10**8 + i,
            client_id=client,
            payment_date=day,
            amount=100.0,
            direction="in",
            counterparty_inn="7700000000",
            purpose=f"p{i:02d}",
        )
        for i, day in enumerate(days)
    ]
    start = add_months(R, -col.TEXT_WINDOW_MONTHS)
    rows.append({**rows[0], "payment_id": 6 * 10**8, "payment_date": start, "purpose": "outside the window"})
    rows.append({**rows[0], "payment_id": 6 * 10**8 + 1, "purpose": None})
    insert(engine, "payments", rows)
    text = extract_snapshot(engine, R, settings).set_index(col.CLIENT_ID).loc[client, "payment_text"]
    newest_first = sorted(rows[:n], key=lambda r: (r["payment_date"], r["payment_id"]), reverse=True)
    assert text.split(" | ") == [r["purpose"] for r in newest_first[: col.TEXT_MAX_PAYMENTS]]


def test_a_repeated_client_is_counted_once_on_both_engines(tiny: tuple[Engine, Settings]) -> None:
    """A clients view that repeats a client repeats its row (validation reports it), never its payments or months."""
    engine, settings = tiny
    client = eligible_client(engine, settings, R)
    before = extract_snapshot(engine, R, settings).set_index(col.CLIENT_ID).loc[client]
    select = f"SELECT * FROM {{raw}} UNION ALL SELECT * FROM {{raw}} WHERE client_id = {client}"
    with replaced_by_view(engine, "clients", select):
        after = extract_snapshot(engine, R, settings)
    rows = after[after[col.CLIENT_ID] == client].drop(columns=[col.CLIENT_ID])
    assert len(rows) == 2
    for _, row in rows.iterrows():
        pd.testing.assert_series_equal(row, before, check_names=False)


def test_a_negative_client_id_falls_in_exactly_one_partition(tiny: tuple[Engine, Settings]) -> None:
    """Partitions take the id modulo N non-negative: a negative id is neither lost nor repeated."""
    from rko_model.common.partitions import partitions_of

    engine, settings = tiny
    client = eligible_client(engine, settings, R)
    run(engine, "UPDATE clients SET client_id = :n WHERE client_id = :c", n=-client, c=client)
    run(engine, "UPDATE client_attributes SET client_id = :n WHERE client_id = :c", n=-client, c=client)
    whole = extract_snapshot(engine, R, settings)
    assert -client in set(whole[col.CLIENT_ID])
    parts = [set(extract_snapshot(engine, R, settings, p)[col.CLIENT_ID]) for p in partitions_of(3)]
    assert sum(len(p) for p in parts) == len(whole) and set().union(*parts) == set(whole[col.CLIENT_ID])


def test_the_portable_sql_gives_what_the_postgresql_sql_gives(tmp_path: Path, settings: Settings) -> None:
    """On PostgreSQL, the join-and-group files (the bench's naive baseline reads them) match the per-client ones."""
    from rko_model.stages.snapshot import _KINDS, SOURCE_QUERIES, eligible_clients
    from rko_model.warehouse.query import read_frame
    from rko_model.warehouse.sqlfiles import load_sql

    engine, url, drop = new_warehouse("postgresql", tmp_path)
    try:
        write_bank(engine, generate(TINY_BANK))
        settings = replace(settings, warehouse_url=url)
        with eligible_clients(engine, R, settings) as (conn, params):
            for name in SOURCE_QUERIES:
                frames = [
                    read_frame(conn, load_sql(settings.sql_dir, name, flavour), params, _KINDS)
                    .sort_values(col.CLIENT_ID)
                    .reset_index(drop=True)
                    for flavour in ("portable", "postgresql")
                ]
                assert len(frames[0]) > (20 if name == "snapshot/contacts" else 50), name  # few clients are offered RKO
                pd.testing.assert_frame_equal(*frames, check_exact=False, rtol=1e-9, obj=name)
    finally:
        drop()
