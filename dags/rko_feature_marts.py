"""
### RKO feature marts: a month's per-client aggregates, built once when the month closes

Every month, for the month that has just closed (the run's data interval, never the clock):

1. **ready**: the month's data is complete enough to build from (the readiness check, where
   the project has one; see `rko_model.stages.marts_readiness`);
2. **build**: the month's feature marts (`mart_client_month`, `mart_counterparty_month`,
   `mart_payment_text_month`), replacing the month in one transaction, so reruns and
   backfills leave one copy; earlier months of the 12-month window whose raw rows changed
   since they were built (a late correction) are rebuilt too, and nothing else;
3. emits the Asset `rko://warehouse/feature_marts` with the month in its `extra`: the scoring
   DAG `rko_monthly_scoring` is scheduled on it, so scoring follows the marts.

Backfill: `airflow backfill create --dag-id rko_feature_marts --from-date 2025-01-01
--to-date 2026-10-31` (each month triggers its scoring run). Without Airflow:
`rko marts build --month 2026-10-31` or `--from A --to B`. Connection: `rko_warehouse_marts`
when defined (a login that may write the mart tables, see docs/security.md), else `rko_warehouse`.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import CronDataIntervalTimetable, Param, dag, task
from rko_airflow.marts_asset import FEATURE_MARTS, REPORT_DATE_KEY


@dag(
    dag_id="rko_feature_marts",
    schedule=CronDataIntervalTimetable("0 1 1 * *", timezone="UTC"),
    start_date=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    tags=["rko", "marts", "features"],
    default_args={"owner": "rko-scoring", "retries": 2, "retry_delay": dt.timedelta(minutes=5)},
    doc_md=__doc__,
    params={
        "lookback": Param(
            12,
            type="integer",
            minimum=0,
            maximum=36,
            description="earlier months checked for late corrections (rebuilt only if their raw rows changed)",
        )
    },
)
def rko_feature_marts() -> None:
    @task
    def ready() -> str:
        from rko_airflow.context import task_run

        from rko_model.stages.marts_readiness import check_month_ready

        with task_run() as run:
            check_month_ready(run.settings, run.report_date)
        return run.report_date.isoformat()

    @task(outlets=[FEATURE_MARTS])
    def build(report_date: str) -> dict:
        from rko_airflow.context import task_run

        from rko_model.stages.marts import close_month
        from rko_model.warehouse.engine import make_engine

        with task_run(builds_marts=True) as run:  # rko_warehouse_marts when defined: it writes the marts
            engine = make_engine(run.settings.warehouse_url)
            out = close_month(engine, run.settings, report_date, lookback=int(run.params["lookback"]))
        event = run.context["outlet_events"][FEATURE_MARTS]
        event.extra = {REPORT_DATE_KEY: report_date, "corrected": out["corrected"]}
        return out

    build(ready())


rko_feature_marts()
