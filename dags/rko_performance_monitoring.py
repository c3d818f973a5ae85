"""
### RKO propensity: realised performance

A list is only judged once its 3-month window has closed. The run whose data interval covers
month M evaluates the list published for the month end three months earlier (M-3), whose
window (M-3, M] closed with M:

1. **evaluate** compares that list in `mo_staging.rko_propensity` with the RKO openings that
   really happened: realised Gini, top-decile lift, conversion in the top 10%; the month's row
   in `rko_monitoring.rko_realised_performance` is replaced (reruns leave one row). A month
   that was never scored is skipped; a window the warehouse does not cover yet fails and retries.
2. **pilot** measures the same month's pilot, when its list carries arms and the optimizer's
   contacts are in `marketing_contacts`: per arm eligible, contacted, openings, conversion, and
   the incremental conversion of the contacted model and rules arms over the control rows of
   the same ranks, with 95% intervals, into `rko_monitoring.rko_pilot_results` (skipped otherwise).
3. **check** fails the run with the reason when the realised Gini is below `RKO_GINI_FLOOR`
   (default 0.3) or the score PSI of the run that published the list is above `RKO_PSI_ALERT`
   (default 0.25); from `RKO_PSI_WARN` (0.1) it logs a warning.

Retro months: `airflow backfill create --dag-id rko_performance_monitoring --from-date ...`.
Connections: `rko_warehouse`, `rko_staging`. The figures are drawn on the RKO monitoring page.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import CronDataIntervalTimetable, dag, task
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException


@dag(
    dag_id="rko_performance_monitoring",
    schedule=CronDataIntervalTimetable("0 6 1 * *", timezone="UTC"),
    start_date=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    tags=["rko", "monitoring"],
    default_args={"owner": "rko-scoring", "retries": 2, "retry_delay": dt.timedelta(minutes=30)},
    doc_md=__doc__,
)
def rko_performance_monitoring() -> None:
    @task
    def evaluate() -> dict:
        from rko_airflow.context import current_run

        from rko_model.errors import NotPublishedError
        from rko_model.runs import performance

        run = current_run()  # no fail_fast: a window the warehouse does not cover yet is retried
        report_date = performance.evaluated_month(run.report_date)
        try:
            return performance.evaluate_month(run.settings, report_date).to_json()
        except NotPublishedError as exc:  # nothing was scored that month: nothing to judge
            raise AirflowSkipException(str(exc)) from exc

    @task
    def check(evaluated: dict) -> dict:
        from rko_model.errors import PerformanceAlert
        from rko_model.runs import performance

        try:
            performance.raise_on_alert(performance.RealisedPerformance.from_json(evaluated))
        except PerformanceAlert as exc:  # the figures are stored; a retry would not change them
            raise AirflowFailException(f"RKO performance alert: {exc}") from exc
        return {"report_date": evaluated["report_date"], "status": evaluated["status"], "gini": evaluated["gini"]}

    @task
    def pilot(evaluated: dict) -> dict:
        from rko_airflow.context import current_run

        from rko_model.errors import IncompleteDataError, NotPublishedError
        from rko_model.pilot.report import evaluate_pilot_month

        settings = current_run().settings
        try:
            month = evaluate_pilot_month(settings, evaluated["report_date"])
        except (NotPublishedError, IncompleteDataError) as exc:  # no arms or no contacts: no pilot to measure
            raise AirflowSkipException(str(exc)) from exc
        return {line.line: {"increment": line.row()["increment"], "verdict": line.verdict} for line in month.lines}

    evaluated = evaluate()
    pilot(evaluated)
    check(evaluated)


rko_performance_monitoring()
