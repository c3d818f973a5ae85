"""
### RKO propensity: monthly scoring

Scheduled on the feature marts (Asset `rko://warehouse/feature_marts`, emitted by
`rko_feature_marts` when a month's marts are built), so scoring follows the marts, not a fixed
hour; the run scores the month the marts were built for (never the clock):

0. **wait_for_data** until every source holds the month (the readiness rule of
   `docs/data_contract.md`: each dated source's rows of the month against the month before).
   A sensor in reschedule mode: between pokes (every 30 minutes) it frees its worker slot.
   At `RKO_READINESS_DEADLINE_HOURS` after the month closed (default 240, i.e. the 11th) it
   fails, naming the sources that are still incomplete; nothing is extracted or published;
1. **plan** the partitions (param `partitions`, default 1: client id modulo N) and fix the
   champion model's version for the whole run;
2. **extract** each partition's point-in-time snapshot of eligible SMB clients (mapped tasks,
   so Celery workers share the month);
3. **validate** it with Great Expectations: a critical failure stops the run here, before
   anything is scored or published, and the full result is kept beside the snapshot;
4. **score** it with that model, streaming the snapshot in chunks, and compute the reasons
   (`docs/reasons.md`) of its clients that the month's contacted deciles will need, so that
   reasons run in the mapped tasks, not serially at publish;
5. **publish** the whole month's ranked list to `mo_staging.rko_propensity`, replacing that
   month in one transaction, fenced (a run that lost the month to another publishes nothing),
   with its run recorded as published in the same transaction (reruns and backfills leave
   exactly one copy; the list is the same for any number of partitions; a retried publish of a
   month that went out does not publish again); it emits the Asset
   `rko://mo_staging/rko_propensity` with the month in the event's extra (consumers, such as
   `rko_list_export`, are scheduled on it);
6. **record** the run's metrics (rows, validation, score distribution, PSI, durations) in
   `rko_monitoring.rko_run_metrics`: idempotent, retried on its own.

A permanent fault (bad data, setting, package, file, disk) fails its task at once, without
retries; a database that does not answer is retried.

Retro months: backfill `rko_feature_marts` (each month built triggers its scoring run), or
run one month by hand: `airflow dags test rko_monthly_scoring <logical date>` scores the month
that ended before the logical date (`rko logical-date`). A promotion of a new champion (Asset
`rko://registry/champion`) triggers a run too. Connections: `rko_warehouse`, `rko_staging`.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import Param, PokeReturnValue, dag, task
from rko_airflow.assets import CHAMPION, FEATURE_MARTS, PUBLISHED_LIST

#: Pokes of the readiness sensor; the deadline itself is a setting, read when it pokes.
READINESS_POKE = 30 * 60  # seconds


@dag(
    dag_id="rko_monthly_scoring",
    schedule=FEATURE_MARTS | CHAMPION,
    start_date=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    tags=["rko", "scoring", "marketing-optimizer"],
    default_args={"owner": "rko-scoring", "retries": 2, "retry_delay": dt.timedelta(minutes=5)},
    doc_md=__doc__,
    params={
        "partitions": Param(
            1, type="integer", minimum=1, maximum=64, description="split the month into N partitions (client id % N)"
        )
    },
)
def rko_monthly_scoring() -> None:
    # Reschedule mode: between pokes the task gives its worker slot back. The deadline lives in
    # the settings and is judged in the poke, so the sensor's own timeout is only a backstop.
    @task.sensor(poke_interval=READINESS_POKE, timeout=dt.timedelta(days=62), mode="reschedule")
    def wait_for_data() -> PokeReturnValue:
        from rko_airflow.context import current_run, wait_for_readiness

        run = current_run()  # no fail_fast: a check that cannot reach the warehouse pokes again
        return wait_for_readiness(run.settings, run.report_date)

    @task
    def plan() -> list[dict]:
        from rko_airflow.context import task_run

        from rko_model import monthly

        with task_run() as run:
            return monthly.plan(run.settings, int(run.params["partitions"]))

    @task
    def extract(planned: dict) -> dict:
        from rko_airflow.context import task_run

        from rko_model import monthly
        from rko_model.partitions import Partition

        with task_run() as run:
            partition = Partition(planned["partition"], planned["partitions"])
            ref = monthly.extract(run.settings, run.report_date, run.run_id, partition)
        return {**ref, "model_version": planned["model_version"]}

    @task
    def validate(extracted: dict) -> dict:
        from rko_airflow.context import task_run

        from rko_model import monthly

        with task_run() as run:  # bad data does not get better on retry
            ref = monthly.validate(run.settings, run.report_date, run.run_id, extracted)
        return {**ref, "model_version": extracted["model_version"]}

    @task(inlets=[CHAMPION])
    def score(validated: dict) -> dict:
        from rko_airflow.context import task_run

        from rko_model import monthly

        with task_run() as run:
            return monthly.score(run.settings, run.report_date, run.run_id, validated, validated["model_version"])

    @task(outlets=[PUBLISHED_LIST])
    def publish(scored: list[dict]) -> dict:
        from rko_airflow.context import task_run

        from rko_model import monthly

        with task_run() as run:
            published = monthly.publish(run.settings, run.report_date, run.run_id, list(scored))
        run.context["outlet_events"][PUBLISHED_LIST].extra = {
            "report_date": run.report_date.isoformat(),
            "run_id": run.run_id,
            "model_version": published["model_version"],
            "rows": published["rows"],
        }
        return published

    @task
    def record(
        extracted: list[dict], validated: list[dict], scored: list[dict], published: dict, readiness: dict
    ) -> dict:
        from rko_airflow.context import task_run

        from rko_model import monthly

        with task_run() as run:  # idempotent: a retry records again, it never publishes again
            return monthly.record(
                run.settings,
                run.report_date,
                run.run_id,
                extracted=list(extracted),
                validated=list(validated),
                scored=list(scored),
                published=published,
                readiness=readiness,
            )

    readiness = wait_for_data()
    planned = plan()
    readiness >> planned
    extracted = extract.expand(planned=planned)
    validated = validate.expand(extracted=extracted)
    scored = score.expand(validated=validated)
    published = publish(scored)
    record(extracted, validated, scored, published, readiness)


rko_monthly_scoring()
