"""The months a scoring run covers; the catch-up of marts events that no run consumed (scoring_months)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pendulum
import pytest
from airflow.sdk import Asset
from airflow.sdk.exceptions import AirflowSkipException
from rko_airflow.asset_catch_up import REPORT_DATES_KEY, unconsumed_events
from rko_airflow.assets import CHAMPION, FEATURE_MARTS, MARTS_CATCH_UP
from rko_airflow.marts_asset import REPORT_DATE_KEY
from rko_airflow.scoring_months import catch_up_marts, months_of_run

from rko_model.errors import InvalidInputError

DAG_ID = "rko_monthly_scoring"
TRIGGERED = pendulum.datetime(2026, 12, 2, 8, tz="UTC")


def _marts(*months: str) -> list[SimpleNamespace]:
    return [SimpleNamespace(extra={REPORT_DATE_KEY: month, "corrected": []}) for month in months]


def _asset_run(events: dict, run_after: dt.datetime = TRIGGERED) -> dict:
    run = SimpleNamespace(run_type="asset_triggered", run_after=run_after, dag_id=DAG_ID)
    return {"triggering_asset_events": events, "dag_run": run, "data_interval_start": None}


def test_a_run_scores_every_month_its_marts_events_name_oldest_first_each_once() -> None:
    """Several builds triggering one run (a backfill), repeated events of a month: every month, once, in order."""
    events = {FEATURE_MARTS: _marts("2026-10-31", "2026-09-30", "2026-10-31", "2026-08-31")}
    assert months_of_run(_asset_run(events)) == [dt.date(2026, 8, 31), dt.date(2026, 9, 30), dt.date(2026, 10, 31)]
    assert months_of_run(_asset_run({FEATURE_MARTS: _marts("2026-09-30", "2026-09-30")})) == [dt.date(2026, 9, 30)]


def test_a_new_champion_adds_the_last_closed_month_to_the_marts_months() -> None:
    champion = [SimpleNamespace(extra={"model_version": "v7"})]
    only_champion = _asset_run({CHAMPION: champion})
    assert months_of_run(only_champion) == [dt.date(2026, 11, 30)]  # the month closed before the trigger
    together = _asset_run({CHAMPION: champion, FEATURE_MARTS: _marts("2026-09-30", "2026-11-30")})
    assert months_of_run(together) == [dt.date(2026, 9, 30), dt.date(2026, 11, 30)]  # November once
    with_october = _asset_run({Asset(CHAMPION.uri): champion, FEATURE_MARTS: _marts("2026-10-31")})
    assert months_of_run(with_october) == [dt.date(2026, 10, 31), dt.date(2026, 11, 30)]


def test_a_catch_up_event_alone_scores_nothing_itself() -> None:
    """The marts events in its window name the months; the catch-up event only made the run happen."""
    catch_up = {MARTS_CATCH_UP: [SimpleNamespace(extra={REPORT_DATES_KEY: ["2026-10-31"]})]}
    assert months_of_run(_asset_run(catch_up)) == []
    catch_up[FEATURE_MARTS] = _marts("2026-10-31")
    assert months_of_run(_asset_run(catch_up)) == [dt.date(2026, 10, 31)]
    assert months_of_run(_asset_run({})) == []  # an Asset-triggered run whose window held no event


def test_a_marts_event_that_names_no_month_scores_nothing_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    """An event made by hand in the UI has no extra: logged, never guessed (the run's other months go on)."""
    by_hand = SimpleNamespace(id=41, extra={})
    events = {FEATURE_MARTS: [by_hand, *_marts("2026-09-30")]}
    with caplog.at_level("WARNING", logger="rko_airflow.scoring_months"):
        assert months_of_run(_asset_run(events)) == [dt.date(2026, 9, 30)]
    assert "the feature marts event 41 names no month" in caplog.text and "airflow dags test" in caplog.text
    with pytest.raises(InvalidInputError, match="2026-10-15 is not a month end"):  # permanent: the task fails at once
        months_of_run(_asset_run({FEATURE_MARTS: _marts("2026-10-15")}))


def test_a_manual_run_scores_the_month_before_its_logical_date() -> None:
    logical = pendulum.datetime(2026, 11, 1, 3, tz="UTC")
    manual = {
        "triggering_asset_events": {},
        "dag_run": SimpleNamespace(run_type="manual", run_after=logical),
        "data_interval_start": logical,
        "data_interval_end": logical,
    }
    assert months_of_run(manual) == [dt.date(2026, 10, 31)]
    # `dag.test()` (no run type in a hand-made context) and a scheduled interval: the interval's month
    assert months_of_run({"data_interval_start": pendulum.datetime(2026, 2, 1, 3, tz="UTC")}) == [dt.date(2026, 2, 28)]


def _event(event_id: int, month: str, at: dt.datetime, *consumers: str) -> SimpleNamespace:
    runs = [SimpleNamespace(dag_id=dag_id, run_id=f"asset_triggered__{i}") for i, dag_id in enumerate(consumers)]
    return SimpleNamespace(id=event_id, extra={REPORT_DATE_KEY: month}, timestamp=at, created_dagruns=runs)


def test_unconsumed_events_wait_for_the_next_run_or_are_stranded() -> None:
    """September's event triggered the run; October's landed 0.08 s later, after the queue row: no run took it."""
    september = _event(1, "2026-09-30", TRIGGERED.subtract(seconds=1), DAG_ID)
    october = _event(2, "2026-10-31", TRIGGERED.add(microseconds=80_000))
    other_consumer = _event(3, "2026-11-30", TRIGGERED.add(seconds=5), "some_other_dag")
    older = _event(4, "2026-08-31", TRIGGERED.subtract(minutes=5))
    waiting, stranded = unconsumed_events([september, october, other_consumer, older], DAG_ID, TRIGGERED)
    assert [e.id for e in waiting] == [2, 3] and [e.id for e in stranded] == [4]
    assert unconsumed_events([september], DAG_ID, TRIGGERED) == ([], [])


class _InletEvents:
    """``inlet_events[asset].after(when)`` as the task SDK answers it: the asset's events from that time on."""

    def __init__(self, events: list[SimpleNamespace]) -> None:
        self.events = events
        self.asked: list[tuple[str, str]] = []

    def __getitem__(self, asset: Asset) -> _InletEvents:
        self.asset = asset
        return self

    def after(self, when: str) -> list[SimpleNamespace]:
        self.asked.append((self.asset.uri, when))
        return [e for e in self.events if e.timestamp >= dt.datetime.fromisoformat(when)]


def test_catch_up_emits_the_waiting_months_or_skips() -> None:
    september = _event(1, "2026-09-30", TRIGGERED.subtract(seconds=1), DAG_ID)
    october = _event(2, "2026-10-31", TRIGGERED.add(microseconds=80_000))
    october_again = _event(3, "2026-10-31", TRIGGERED.add(seconds=1))
    inlets = _InletEvents([september, october, october_again])
    outlets = {MARTS_CATCH_UP: SimpleNamespace(extra=None)}
    context = {**_asset_run({FEATURE_MARTS: _marts("2026-09-30")}), "inlet_events": inlets, "outlet_events": outlets}
    assert catch_up_marts(context) == ["2026-10-31"]
    assert outlets[MARTS_CATCH_UP].extra == {REPORT_DATES_KEY: ["2026-10-31"]}
    assert inlets.asked == [(FEATURE_MARTS.uri, TRIGGERED.subtract(days=1).isoformat())]
    # once the next run consumed October, nothing waits: the task skips and emits no event
    for event in (october, october_again):
        event.created_dagruns = [SimpleNamespace(dag_id=DAG_ID, run_id="asset_triggered__next")]
    with pytest.raises(AirflowSkipException, match="consumed"):
        catch_up_marts(context)
    manual = {**context, "dag_run": SimpleNamespace(run_type="manual", run_after=TRIGGERED, dag_id=DAG_ID)}
    with pytest.raises(AirflowSkipException, match="not an Asset-triggered run"):
        catch_up_marts(manual)
