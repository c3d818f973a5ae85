"""Feature marts on both engines: snapshots from the marts are the raw snapshots, feature for feature.

Also: a backfill, a late correction that rebuilds one month, a rerun that leaves one copy,
point-in-time correctness, the setting that chooses the source, and the CLI.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pandas as pd
import pytest
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
    missing_months,
    source_queries,
)
from rko_model.stages.labels import extract_labelled_snapshot
from rko_model.stages.marts import build_months, close_month, corrected_months, months_between, plan_months, raw_months
from rko_model.stages.snapshot import extract_snapshot
from rko_model.synth.generator import generate
from rko_model.warehouse.bank_writer import write_bank
from tests.conftest import TINY_BANK, R
from tests.helpers import insert, run, table

#: A month of the tiny bank (2025-07..2026-10) whose raw rows are all deleted: a month without data.
EMPTY_MONTH = dt.date(2026, 3, 31)
#: Report dates compared: the first with a full window, one whose window holds the empty month, the latest.
REPORT_DATES = (R, dt.date(2026, 8, 31), dt.date(2026, 10, 31))

MART_TABLES = ("mart_client_month", "mart_counterparty_month", "mart_payment_text_month")


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
    assert [b.month_end for b in built] == months_between(dt.date(2025, 7, 31), dt.date(2026, 10, 31))
    assert next(b for b in built if b.month_end == EMPTY_MONTH).clients == 0
    for report_date in REPORT_DATES:
        assert source_queries(engine, settings, report_date) == MART_SOURCE_QUERIES  # auto: the marts cover it
        frame = _assert_same(engine, settings, report_date)
    row = frame.set_index(col.CLIENT_ID).loc[quiet]
    assert row["pay_in_cnt_12m"] == 0 and row["account_months_12m"] == 0 and pd.isna(row["balance_avg_12m"])
    # Training reads the marts too: the labelled snapshot is the same either way.
    labelled = extract_labelled_snapshot(engine, R, settings)
    pd.testing.assert_frame_equal(labelled, extract_labelled_snapshot(engine, R, _raw(settings)), check_exact=True)


def test_a_window_not_covered_reads_the_raw_tables_and_a_backfill_covers_it(tiny: tuple[Engine, Settings]) -> None:
    engine, settings = tiny
    latest = REPORT_DATES[-1]
    build_months(engine, settings, plan_months(engine, settings, first="2026-05-31", last="2026-10-31"))
    assert missing_months(engine, settings, latest) == months_between(dt.date(2025, 11, 30), dt.date(2026, 4, 30))
    assert source_queries(engine, settings, latest) == RAW_SOURCE_QUERIES  # auto: the raw tables
    with pytest.raises(IncompleteDataError, match=r"rko marts build --from 2025-11-30 --to 2026-04-30"):
        extract_snapshot(engine, latest, _marts(settings))
    backfill = build_months(engine, settings, plan_months(engine, settings, first="2025-07-31", last="2026-04-30"))
    assert len(backfill) == 10 and not any(b.replaced for b in backfill)
    assert missing_months(engine, settings, latest) == []
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
    out = close_month(engine, settings, latest, lookback=12)
    assert out["corrected"] == [corrected.isoformat()]
    assert [m["month_end"] for m in out["months"]] == [corrected.isoformat(), latest.isoformat()]
    assert corrected_months(engine, settings, earlier) == []
    for report_date in REPORT_DATES:  # every snapshot whose window holds the corrected month
        _assert_same(engine, settings, report_date)
    assert (
        "поздно загруженный платёж"
        in extract_snapshot(engine, R, settings).set_index(col.CLIENT_ID).loc[client, "payment_text"]
    )


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
    assert "marts 2026-01-31 (1/3)" in out and "marts 2026-03-31 (3/3)" in out and "done: 3 month(s)" in out
    assert main(["marts", "build", "--month", "2026-03-31"]) == 0
    assert "rebuilt" in capsys.readouterr().out
    assert main(["marts", "status"]) == 0
    assert "marts built for 3 month(s)" in capsys.readouterr().out
    assert main(["marts", "build", "--month", "2026-03-15"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a month end; did you mean 2026-03-31?" in err[0]
    assert main(["marts", "build", "--month", "2026-11-30"]) == 2
    assert "after the latest complete month 2026-10-31" in capsys.readouterr().err
