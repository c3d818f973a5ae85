"""
### RKO propensity: the list for the optimizer's batch import

Scheduled on the Asset `rko://mo_staging/rko_propensity`: every month that `rko_monthly_scoring`
publishes (the month is in the Asset event's extra) is exported from `mo_staging.rko_propensity`
to the artefact store (`RKO_ARTIFACT_URL`) as
`exports/rko_propensity/report_date=<month>/rko_propensity.parquet` and `.csv`, with every
column the list has (the pilot arm and the reasons where it holds them), and a `manifest.json`
written last (rows, columns, each file's sha256). A rerun replaces the month's files; an
importer that waits for the manifest never reads half a month.

Several months published together (a run that scored several months, a backfill) may trigger
one run: it exports each of them. Airflow consumes an event that lands just after another one's
(before the run is created) in no run at all: **catch_up** finds events of the list newer than
the run's trigger that no export run consumed and emits `rko://export/list_catch_up`, on which
this DAG is scheduled too, so the next run exports them (`rko_airflow.asset_catch_up`).

Triggered by hand with the param `report_date` (a month end), it exports that month.
This DAG is also the pattern for a bank's own consumer (a message, an API call): see
`docs/consumers.md`. Connection: `rko_staging`.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import Param, dag, task
from rko_airflow.assets import LIST_CATCH_UP, PUBLISHED_LIST


@dag(
    dag_id="rko_list_export",
    schedule=PUBLISHED_LIST | LIST_CATCH_UP,
    start_date=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    tags=["rko", "marketing-optimizer", "export"],
    default_args={"owner": "rko-scoring", "retries": 2, "retry_delay": dt.timedelta(minutes=5)},
    doc_md=__doc__,
    params={
        "report_date": Param(
            None, type=["null", "string"], description="month end to export by hand (empty: the Asset events' months)"
        )
    },
)
def rko_list_export() -> None:
    @task
    def export() -> list[dict]:
        from rko_airflow.context import task_run

        from rko_model.stages.list_export import export_month

        with task_run() as run:
            months = months_to_export(run.params.get("report_date"), run.context["triggering_asset_events"])
            return [export_month(run.settings, month) for month in months]

    @task(inlets=[PUBLISHED_LIST], outlets=[LIST_CATCH_UP])
    def catch_up() -> list[str]:
        from airflow.sdk import get_current_context
        from rko_airflow.asset_catch_up import catch_up as emit_if_waiting

        return emit_if_waiting(get_current_context(), watched=PUBLISHED_LIST, signal=LIST_CATCH_UP)

    export()
    catch_up()


def months_to_export(by_hand: str | None, triggering_events) -> list[str]:  # type: ignore[no-untyped-def]
    """The months of the triggering events (several may have queued up), each once, in order.

    A run triggered only by a catch-up event exports nothing itself: the list's events in its
    window name the months.
    """
    if by_hand:
        return [by_hand]
    events = triggering_events.get(PUBLISHED_LIST, [])
    months = sorted({str(event.extra["report_date"]) for event in events if (event.extra or {}).get("report_date")})
    if not months and triggering_events.get(LIST_CATCH_UP):
        return []
    if not months:  # permanent: the run's events will not name a month on a retry
        from rko_model.errors import InvalidInputError

        raise InvalidInputError(
            "no published month to export: trigger with the param report_date, or wait for an event"
        )
    return months


rko_list_export()
