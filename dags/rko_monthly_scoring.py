"""
### RKO propensity: monthly scoring

Every month, for the month that has just closed (the run's data interval, never the clock):

1. **extract** the point-in-time snapshot of eligible SMB clients from the warehouse;
2. **validate** it with Great Expectations: a critical failure stops the run here, before
   anything is scored or published, and the full result is kept beside the snapshot;
3. **score** it with the registry's champion model;
4. **publish** the ranked list to `mo_staging.rko_propensity`, replacing that month in one
   transaction (reruns and backfills leave exactly one copy);
5. **record** the run's metrics (rows, validation, score distribution, PSI, durations) in
   `rko_monitoring.rko_run_metrics`.

Retro months: `airflow backfill create --dag-id rko_monthly_scoring --from-date 2026-01-01
--to-date 2026-03-31`. A promotion of a new champion (Asset `rko://registry/champion`)
re-scores the latest complete month. Connections: `rko_warehouse`, `rko_staging`.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import Asset, AssetOrTimeSchedule, CronDataIntervalTimetable, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

CHAMPION = Asset("rko://registry/champion")


@dag(
    dag_id="rko_monthly_scoring",
    schedule=AssetOrTimeSchedule(timetable=CronDataIntervalTimetable("0 3 1 * *", timezone="UTC"), assets=CHAMPION),
    start_date=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    tags=["rko", "scoring", "marketing-optimizer"],
    default_args={"owner": "rko-scoring", "retries": 2, "retry_delay": dt.timedelta(minutes=5)},
    doc_md=__doc__,
)
def rko_monthly_scoring() -> None:
    @task
    def extract() -> dict:
        from rko_airflow.context import report_date_of, task_settings

        from rko_model import monthly

        context = get_current_context()
        return monthly.extract(task_settings(), report_date_of(context), context["run_id"])

    @task
    def validate(extracted: dict) -> dict:
        from rko_airflow.context import report_date_of, task_settings

        from rko_model import monthly
        from rko_model.errors import ValidationError

        context = get_current_context()
        try:
            return monthly.validate(
                task_settings(), report_date_of(context), context["run_id"], extracted["snapshot_path"]
            )
        except ValidationError as exc:  # bad data does not get better on retry
            raise AirflowFailException(str(exc)) from exc

    @task(inlets=[CHAMPION])
    def score(extracted: dict, validated: dict) -> dict:
        from rko_airflow.context import report_date_of, task_settings

        from rko_model import monthly

        context = get_current_context()
        return monthly.score(task_settings(), report_date_of(context), context["run_id"], extracted["snapshot_path"])

    @task
    def publish(scored: dict) -> dict:
        from rko_airflow.context import report_date_of, task_settings

        from rko_model import monthly

        return monthly.publish(task_settings(), report_date_of(get_current_context()), scored["scores_path"])

    @task
    def record(extracted: dict, validated: dict, scored: dict, published: dict) -> dict:
        from rko_airflow.context import report_date_of, task_settings

        from rko_model import monthly

        context = get_current_context()
        return monthly.record(
            task_settings(),
            report_date_of(context),
            context["run_id"],
            extract_ref=extracted,
            validate_ref=validated,
            score_ref=scored,
            publish_ref=published,
        )

    extracted = extract()
    validated = validate(extracted)
    scored = score(extracted, validated)
    published = publish(scored)
    record(extracted, validated, scored, published)


rko_monthly_scoring()
