"""Feature marts on both engines: snapshots from the marts are the raw snapshots, feature for feature.

Also: composed features equal features summed from twelve months, a backfill, a late
correction that rebuilds one month and the features that depend on it, a rerun that leaves one
copy, point-in-time correctness, the setting that chooses the source, and the CLI.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from rko_model import columns as col
from rko_model.cli import main
from rko_model.common.dates import add_months
from rko_model.errors import IncompleteDataError
from rko_model.settings import Settings
from rko_model.stages.feature_source import (
    MART_SOURCE_QUERIES,
    RAW_SOURCE_QUERIES,
    built_months,
    feature_months,
    missing_months,
    source_queries,
)
from rko_model.stages.labels import extract_labelled_snapshot
from rko_model.stages.marts import (
    build_features,
    build_months,
    close_month,
    corrected_months,
    months_between,
    plan_builds,
    plan_months,
    raw_months,
)
from rko_model.stages.snapshot import extract_snapshot
from rko_model.synth.generator import generate
from rko_model.warehouse.bank_writer import write_bank
from tests.conftest import TINY_BANK, R
from tests.helpers import insert, run, table

#: A month of the tiny bank (2025-07..2026-10) whose raw rows are all deleted: a month without data.
EMPTY_MONTH = dt.date(2026, 3, 31)
#: Report dates compared: the first with a full window, one whose window holds the empty month, the latest.
REPORT_DATES = (R, dt.date(2026, 8, 31), dt.date(2026, 10, 31))

MART_TABLES = ("mart_client_month", "mart_counterparty_month", "mart_payment_text_month", "mart_client_features")
FIRST = dt.date(2025, 7, 31)


def _raw(settings: Settings) -> Settings:
    return replace(settings, feature_source="raw")


def _marts(settings: Settings) -> Settings:
    return replace(settings, feature_source="marts")


def _assert_same(engine: Engine, settings: Settings, report_date: dt.date) -> pd.DataFrame:
    """The snapshot from the marts equals the raw snapshot exactly: every feature, every client."""
    raw = extract_snapshot(engine, report_date, _raw(settings))
    marts = extract_snapshot(engine, report_date, _marts(settings))
    assert len(raw) > 100
    pd.testing.assert_frame_equal(marts, raw, check_exact=True)
    return marts


def _empty_a_month_and_a_client(engine: Engine, settings: Settings) -> int:
    """Delete every raw row of EMPTY_MONTH, and every activity row of one eligible client."""
    start = add_months(EMPTY_MONTH, -1)
    run(engine, "DELETE FROM payments WHERE payment_date > :s AND payment_date <= :e", s=start, e=EMPTY_MONTH)
    run(engine, "DELETE FROM account_monthly WHERE month_end = :e", e=EMPTY_MONTH)
    run(engine, "DELETE FROM digital_activity WHERE month_end = :e", e=EMPTY_MONTH)
    frame = extract_snapshot(engine, R, _raw(settings))
    quiet = int(frame.loc[frame["pay_in_cnt_12m"] > 0, col.CLIENT_ID].iloc[0])
    for name in ("payments", "account_monthly", "digital_activity"):
        run(engine, f"DELETE FROM {name} WHERE client_id = :c", c=quiet)
    return quiet


def test_snapshots_from_marts_equal_raw_snapshots(tiny: tuple[Engine, Settings]) -> None:
    """Several report dates, one of them over a month without data, and a client without any activity."""
    engine, settings = tiny
    quiet = _empty_a_month_and_a_client(engine, settings)
    built = build_months(engine, settings, plan_months(engine, settings))
    assert [b.month_end for b in built] == months_between(FIRST, dt.date(2026, 10, 31))
    assert all(b.monthly and b.feature_clients for b in built)
    assert next(b for b in built if b.month_end == EMPTY_MONTH).clients == 0
    for report_date in REPORT_DATES:
        assert source_queries(engine, settings, report_date) == MART_SOURCE_QUERIES  # auto: the marts cover it
        frame = _assert_same(engine, settings, report_date)
    row = frame.set_index(col.CLIENT_ID).loc[quiet]
    assert row["pay_in_cnt_12m"] == 0 and row["account_months_12m"] == 0 and pd.isna(row["balance_avg_12m"])
    # Training reads the marts too: the labelled snapshot is the same either way.
    labelled = extract_labelled_snapshot(engine, R, settings)
    pd.testing.assert_frame_equal(labelled, extract_labelled_snapshot(engine, R, _raw(settings)), check_exact=True)


def _features(engine: Engine, month: dt.date) -> pd.DataFrame:
    frame = table(engine, "mart_client_features")
    frame = frame[pd.to_datetime(frame["month_end"]).dt.date == month].drop(columns="month_end")
    return frame.sort_values(col.CLIENT_ID).reset_index(drop=True)


def test_composed_features_equal_features_summed_from_twelve_months(tiny: tuple[Engine, Settings]) -> None:
    """A whole build composes every month's windows; a direct sum of the twelve monthly rows gives the same rows."""
    engine, settings = tiny
    _empty_a_month_and_a_client(engine, settings)
    months = plan_months(engine, settings)
    plan = plan_builds(engine, settings, months)
    assert plan.features == tuple(months) and plan.composed == frozenset(months)
    build_months(engine, settings, months)
    for month in (EMPTY_MONTH, *REPORT_DATES):
        composed = _features(engine, month)
        assert len(composed) > 100
        build_features(engine, settings, month, composed=False)
        pd.testing.assert_frame_equal(_features(engine, month), composed, check_exact=True)


def _holders_of_rko(engine: Engine, month: dt.date) -> set[int]:
    events = table(engine, "product_events")
    events = events[events["product"] == col.RKO_PRODUCT]
    at = pd.Timestamp(month)
    held = (events["open_date"] <= at) & (events["close_date"].isna() | (events["close_date"] > at))
    return set(events.loc[held, col.CLIENT_ID])


def test_the_features_mart_holds_the_months_candidates_with_or_without_activity(
    tiny: tuple[Engine, Settings], tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """Every client a snapshot of the month may score (eligible before the OKVED exclusions) has its row, and
    only they: the clients holding RKO are never scored, so their features are not built."""
    engine, settings = tiny
    quiet = _empty_a_month_and_a_client(engine, settings)
    latest = REPORT_DATES[-1]
    build_months(engine, settings, [latest])
    none = tmp_path / "no_exclusions.txt"
    none.write_text("\n", encoding="utf-8")
    everyone = set(extract_snapshot(engine, latest, replace(_raw(settings), okved_exclusions_path=none))[col.CLIENT_ID])
    scored = set(extract_snapshot(engine, latest, _raw(settings))[col.CLIENT_ID])
    held = set(_features(engine, latest)[col.CLIENT_ID])
    assert held == everyone and scored <= held and quiet in held
    holders = _holders_of_rko(engine, latest)
    assert holders and not holders & held


def test_a_client_who_was_not_a_candidate_three_and_six_months_before_is_composed_exactly(
    tiny: tuple[Engine, Settings],
) -> None:
    """A client who held RKO until a month before R is missing from the features of R - 3 and R - 6: its
    months there are summed from its monthly rows, and the composed row equals the direct sum."""
    engine, settings = tiny
    latest = REPORT_DATES[-1]
    frame = extract_snapshot(engine, latest, _raw(settings))
    active = frame.loc[(frame["pay_in_cnt_12m"] > 0) & (frame["account_months_12m"] == 12), col.CLIENT_ID]
    client = int(active.iloc[0])
    opened, closed = add_months(latest, -11), add_months(latest, -1)
    insert(
        engine,
        "product_events",
        [{"client_id": client, "product": col.RKO_PRODUCT, "open_date": opened, "close_date": closed}],
    )
    months = plan_months(engine, settings)
    assert plan_builds(engine, settings, months).composed >= {latest}
    build_months(engine, settings, months)
    for before in (3, 6):
        assert client not in set(_features(engine, add_months(latest, -before))[col.CLIENT_ID])
    composed = _features(engine, latest)
    assert client in set(composed[col.CLIENT_ID])
    build_features(engine, settings, latest, composed=False)
    pd.testing.assert_frame_equal(_features(engine, latest), composed, check_exact=True)
    _assert_same(engine, settings, latest)


def test_an_eligible_client_the_build_did_not_hold_sends_the_snapshot_to_the_raw_tables(
    tiny: tuple[Engine, Settings], caplog: pytest.LogCaptureFixture
) -> None:
    """A correction after the build (RKO accounts closed earlier than recorded) makes clients eligible that
    the month's features do not hold: the snapshot reads the raw tables for them, and is still the raw one."""
    engine, settings = tiny
    latest = REPORT_DATES[-1]
    build_months(engine, settings, [latest])
    holders = _holders_of_rko(engine, latest)
    run(
        engine,
        "UPDATE product_events SET close_date = :at WHERE product = :rko AND open_date <= :at "
        "AND (close_date IS NULL OR close_date > :at)",
        at=latest,
        rko=col.RKO_PRODUCT,
    )
    assert source_queries(engine, settings, latest) == MART_SOURCE_QUERIES  # still registered
    with caplog.at_level("WARNING", logger="rko_model.stages.snapshot"):
        frame = _assert_same(engine, settings, latest)
    assert holders & set(frame[col.CLIENT_ID])
    assert "the features mart lacks" in caplog.text and "rko marts build --month 2026-10-31" in caplog.text


def test_a_month_without_its_features_reads_the_raw_tables_and_building_it_covers_it(
    tiny: tuple[Engine, Settings],
) -> None:
    engine, settings = tiny
    middle, latest = REPORT_DATES[1], REPORT_DATES[-1]
    built = build_months(engine, settings, [middle])  # the monthly marts of its window come with it
    assert [b.month_end for b in built] == months_between(add_months(middle, -11), middle)
    assert [b.month_end for b in built if b.feature_clients] == [middle]
    assert feature_months(engine, settings) == [middle]
    assert source_queries(engine, settings, latest) == RAW_SOURCE_QUERIES  # auto: the raw tables
    with pytest.raises(IncompleteDataError, match=r"rko marts build --month 2026-10-31"):
        extract_snapshot(engine, latest, _marts(settings))
    assert plan_builds(engine, settings, [latest]).composed == frozenset()  # 3 and 6 months before: not built
    build_months(engine, settings, [latest])
    assert missing_months(engine, settings, latest) == []
    for report_date in (middle, latest):
        _assert_same(engine, settings, report_date)
    backfill = build_months(engine, settings, plan_months(engine, settings, first="2025-07-31", last="2026-07-31"))
    assert not any(b.replaced for b in backfill if b.month_end < add_months(middle, -11))
    # The backfill rebuilt the monthly marts of the windows of August and October: their features were rebuilt too.
    assert feature_months(engine, settings) == [*months_between(FIRST, middle), latest]
    for report_date in REPORT_DATES:
        _assert_same(engine, settings, report_date)


def _mart_rows(engine: Engine) -> dict[str, pd.Series]:
    return {name: table(engine, name).groupby("month_end").size() for name in MART_TABLES}


def test_a_rerun_leaves_one_copy(tiny: tuple[Engine, Settings]) -> None:
    engine, settings = tiny
    months = plan_months(engine, settings)
    build_months(engine, settings, months)
    before = _mart_rows(engine)
    again = build_months(engine, settings, [R])
    assert again[0].replaced
    after = _mart_rows(engine)
    for name in MART_TABLES:
        pd.testing.assert_series_equal(after[name], before[name])
    registry = built_months(engine, settings)
    assert registry == sorted(set(registry)) and len(registry) == len(months)
    assert feature_months(engine, settings) == registry
    assert int(table(engine, "mart_client_month").duplicated([col.CLIENT_ID, "month_end"]).sum()) == 0
    _assert_same(engine, settings, R)


def test_a_late_correction_rebuilds_that_month_only(tiny: tuple[Engine, Settings]) -> None:
    engine, settings = tiny
    build_months(engine, settings, plan_months(engine, settings))
    corrected = dt.date(2026, 4, 30)
    client = int(extract_snapshot(engine, R, _raw(settings))[col.CLIENT_ID].iloc[0])
    insert(
        engine,
        "payments",
        [
            {
                "payment_id": 10**12,
                "client_id": client,
                "payment_date": dt.date(2026, 4, 15),
                "amount": 123456.78,
                "direction": "in",
                "counterparty_inn": "7700000001",
                "purpose": "поздно загруженный платёж",
            }
        ],
    )
    run(engine, "UPDATE account_monthly SET turnover_in = turnover_in + 1 WHERE month_end = :m", m=corrected)
    stale = extract_snapshot(engine, R, _marts(settings)).set_index(col.CLIENT_ID)
    assert (
        stale.loc[client, "pay_in_cnt_12m"] + 1
        == extract_snapshot(engine, R, _raw(settings)).set_index(col.CLIENT_ID).loc[client, "pay_in_cnt_12m"]
    )
    latest = REPORT_DATES[-1]
    earlier = [add_months(latest, -k) for k in range(12, 0, -1)]
    assert corrected_months(engine, settings, earlier) == [corrected]
    before = _feature_registry(engine)
    out = close_month(engine, settings, latest, lookback=12)
    assert out["corrected"] == [corrected.isoformat()]
    # The corrected month's monthly marts, the features of every report month whose window holds it, and no other.
    assert [m["month_end"] for m in out["months"] if m["monthly"]] == [corrected.isoformat(), latest.isoformat()]
    assert [m["month_end"] for m in out["months"] if m["feature_clients"]] == [
        d.isoformat() for d in months_between(corrected, latest)
    ]
    after = _feature_registry(engine)
    assert all(after[m] == before[m] for m in before if m < corrected)
    assert corrected_months(engine, settings, earlier) == []
    for report_date in REPORT_DATES:  # every snapshot whose window holds the corrected month
        _assert_same(engine, settings, report_date)
    assert (
        "поздно загруженный платёж"
        in extract_snapshot(engine, R, settings).set_index(col.CLIENT_ID).loc[client, "payment_text"]
    )


def _feature_registry(engine: Engine) -> dict[dt.date, str]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT month_end, built_at FROM mart_feature_months")).all()
    return {pd.Timestamp(m).date(): str(b) for m, b in rows}


def test_rows_dated_after_the_report_date_change_nothing(tiny: tuple[Engine, Settings]) -> None:
    engine, settings = tiny
    build_months(engine, settings, plan_months(engine, settings))
    before = extract_snapshot(engine, R, _marts(settings))
    client = int(before[col.CLIENT_ID].iloc[0])
    later = add_months(R, 1)
    insert(
        engine,
        "payments",
        [
            {
                "payment_id": 10**12 + 1,
                "client_id": client,
                "payment_date": R + dt.timedelta(days=1),
                "amount": 999.99,
                "direction": "out",
                "counterparty_inn": "7700000002",
                "purpose": "платёж из будущего",
            }
        ],
    )
    run(engine, "UPDATE digital_activity SET app_sessions = app_sessions + 50 WHERE month_end = :m", m=later)
    build_months(engine, settings, [later])
    after = extract_snapshot(engine, R, _marts(settings))
    pd.testing.assert_frame_equal(after, before, check_exact=True)
    _assert_same(engine, settings, R)


def test_regenerating_the_bank_drops_the_marts(tiny: tuple[Engine, Settings]) -> None:
    engine, settings = tiny
    build_months(engine, settings, plan_months(engine, settings, month=R.isoformat()))
    write_bank(engine, generate(TINY_BANK))
    assert missing_months(engine, settings, R) == months_between(add_months(R, -11), R)
    assert raw_months(engine, settings) == (dt.date(2025, 7, 31), dt.date(2026, 10, 31))


def test_two_months_built_at_once_on_a_warehouse_without_marts(tiny: tuple[Engine, Settings]) -> None:
    """A backfill runs months side by side: the first builds must not race to create the mart tables."""
    from concurrent.futures import ThreadPoolExecutor

    from rko_model.stages.marts import build_month
    from rko_model.warehouse.engine import make_engine

    _, settings = tiny
    months = [add_months(R, -1), R]
    engines = [make_engine(settings.warehouse_url) for _ in months]  # each build on its own pool, as two workers
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            built = list(
                pool.map(lambda pair: build_month(pair[0], settings, pair[1]), zip(engines, months, strict=True))
            )
    finally:
        for engine in engines:
            engine.dispose()
    assert [b.month_end for b in built] == months and all(b.clients > 0 for b in built)
    assert set(months) <= set(built_months(tiny[0], settings))


def test_cli_builds_a_range_with_progress_lines(
    tiny: tuple[Engine, Settings], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, settings = tiny
    monkeypatch.setenv("RKO_WAREHOUSE_URL", settings.warehouse_url)
    monkeypatch.setenv("RKO_DATA_DIR", str(settings.data_dir))
    assert main(["marts", "build", "--from", "2026-01-31", "--to", "2026-03-31"]) == 0
    out = capsys.readouterr().out
    # The features of January to March need the monthly marts of their windows: from the bank's first month.
    assert "marts 2025-07-31 (1/9)" in out and "marts 2026-03-31 (9/9)" in out
    assert "features 2026-01-31 (1/3)" in out and "features 2026-03-31 (3/3)" in out
    assert "done: 9 monthly and 3 features month(s)" in out
    assert main(["marts", "build", "--month", "2026-03-31"]) == 0
    out = capsys.readouterr().out
    assert "rebuilt" in out and "done: 1 monthly and 1 features month(s)" in out
    assert main(["marts", "status"]) == 0
    out = capsys.readouterr().out
    assert "marts built for 9 month(s)" in out and "features mart built for 3 month(s)" in out
    assert main(["marts", "build", "--month", "2026-03-15"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a month end; did you mean 2026-03-31?" in err[0]
    assert main(["marts", "build", "--month", "2026-11-30"]) == 2
    assert "after the latest complete month 2026-10-31" in capsys.readouterr().err


def test_source_values_from_the_marts_equal_the_raw_check(tiny: tuple[Engine, Settings]) -> None:
    """The marts build counts each month's out-of-bound values; validation sums 12 months of them, no rescan."""
    from rko_model.stages.source_values import found_values, source_value_failures

    engine, settings = tiny
    build_months(engine, settings, plan_months(engine, settings))
    month = dt.date(2026, 4, 30)
    payment = int(
        table(engine, "payments")
        .query("payment_date > '2026-03-31' and payment_date <= '2026-04-30'")["payment_id"]
        .min()
    )
    run(engine, "UPDATE payments SET amount = 5e12 WHERE payment_id = :p", p=payment)
    run(engine, "UPDATE clients SET headcount = 5e6 WHERE client_id = (SELECT MIN(client_id) FROM clients)")
    close_month(engine, settings, REPORT_DATES[-1])  # the corrected month is found and rebuilt
    raw = found_values(engine, _raw(settings), R)
    marts = found_values(engine, settings, R)
    assert int(marts["payments__amount__bad_rows"]) == 1 and int(marts["clients__headcount__bad_rows"]) == 1
    pd.testing.assert_series_equal(marts.astype("float64"), raw[marts.index].astype("float64"), check_names=False)
    messages = source_value_failures(engine, settings, R)
    assert len(messages) == 2 and any(m.startswith("payments.amount holds 1 ") for m in messages)
    assert month in built_months(engine, settings)


def test_months_built_without_source_value_counts_are_counted_by_the_next_build(tiny: tuple[Engine, Settings]) -> None:
    """Months built by an earlier version hold no counts: the next build counts them (no rescan in validation)."""
    engine, settings = tiny
    build_months(engine, settings, plan_months(engine, settings))
    run(engine, "DELETE FROM mart_source_values WHERE month_end <= :m", m=dt.date(2026, 1, 31))
    counted = len(table(engine, "mart_source_values"))
    build_months(engine, settings, [R], rebuild_monthly=False)
    assert len(table(engine, "mart_source_values")) == counted + 7  # 2025-07 .. 2026-01
    assert len(table(engine, "mart_client_month")) > 0
