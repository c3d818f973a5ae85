"""
### RKO propensity: monthly scoring

Scheduled on the feature marts (Asset `rko://warehouse/feature_marts`, emitted by
`rko_feature_marts` when a month's marts are built), so scoring follows the marts, not a fixed
hour; a run scores the months the marts were built for (never the clock):

- **months**: every month named by the marts events that triggered the run, oldest first,
  each once. Airflow does not create one run per event: the marts of several months that land
  together (a backfill) may trigger one run, which then scores each of them. A promotion of a
  new champion (Asset `rko://registry/champion`) adds the last month closed before it.
  Each month is planned, published and recorded on its own, under its own run id (the run's
  id, or `<run id>@YYYY-MM` when the run scores several months);
- **catch_up**: Airflow consumes a marts event that lands just after another one's (before
  the run is created) in no run at all. This task finds marts events newer than the run's
  trigger that no scoring run consumed and emits `rko://scoring/marts_catch_up`, on which this
  DAG is scheduled too: the next run consumes and scores them. So every month named by a marts
  event is scored and published once for it (README, "Several months at once").

For each month:

0. **wait_for_data** until every source holds the month (the readiness rule of
   `docs/data_contract.md`: each dated source's rows of the month against the month before).
   A sensor in reschedule mode: between pokes (every 30 minutes) it frees its worker slot.
   At `RKO_READINESS_DEADLINE_HOURS` after the month closed (default 240, i.e. the 11th) it
   fails, naming the sources that are still incomplete; nothing is extracted or published;
1. **plan** the months and their partitions (param `partitions`, default 1: client id modulo N)
   and fix the champion model's version for the whole run;
2. **extract** each month's and partition's point-in-time snapshot of eligible SMB clients
   (mapped tasks, so Celery workers share the months);
3. **validate** it with Great Expectations: a critical failure stops the run here, before
   anything is scored or published, and the full result is kept beside the snapshot;
4. **score** it with that model, streaming the snapshot in chunks, and compute the reasons
   (`docs/reasons.md`) of its clients that the month's contacted deciles will need, so that
   reasons run in the mapped tasks, not serially at publish;
5. **publish** the whole month's ranked list to `mo_staging.rko_propensity` (only partitions
   whose validation passed: it refuses any other), replacing that month in one transaction,
   fenced (a run that lost the month to another publishes nothing), with its run recorded as
   published in the same transaction (reruns and backfills leave exactly one copy; the list is
   the same for any number of partitions; a retried publish of a month that went out does not
   publish again); it emits the Asset `rko://mo_staging/rko_propensity` with the month in the
   event's extra (consumers, such as `rko_list_export`, are scheduled on it);
6. **record** the run's metrics (rows, validation, score distribution, PSI, durations) in
   `rko_monitoring.rko_run_metrics`: idempotent, retried on its own.

A permanent fault (bad data, setting, package, file, disk) fails its task at once, without
retries; a database that does not answer is retried.

The months of one run are validated before any of them is published: a critical failure of
one stops the run's publishing; each month goes out in its own transaction.

Retro months: backfill `rko_feature_marts` (each month built is scored, in its own run or
together with months built at the same time), or run one month by hand:
`airflow dags test rko_monthly_scoring <logical date>` scores the month that ended before the
logical date (`rko logical-date`). Connections: `rko_warehouse`, `rko_staging`.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import Param, PokeReturnValue, dag, task
from rko_airflow.assets import CHAMPION, FEATURE_MARTS, MARTS_CATCH_UP, PUBLISHED_LIST

#: Pokes of the readiness sensor; the deadline itself is a setting, read when it pokes.
READINESS_POKE = 30 * 60  # seconds


@dag(
    dag_id="rko_monthly_scoring",
    schedule=FEATURE_MARTS | CHAMPION | MARTS_CATCH_UP,
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
    @task
    def months() -> list[str]:
        from airflow.sdk import get_current_context
        from rko_airflow.context import fail_fast
        from rko_airflow.scoring_months import months_of_run

        with fail_fast():  # an event naming a month wrongly does not mend on retry
            return [month.isoformat() for month in months_of_run(get_current_context())]

    # Reschedule mode: between pokes the task gives its worker slot back. The deadline lives in
    # the settings and is judged in the poke, so the sensor's own timeout is only a backstop.
    @task.sensor(poke_interval=READINESS_POKE, timeout=dt.timedelta(days=62), mode="reschedule")
    def wait_for_data(month: str) -> PokeReturnValue:
        from rko_airflow.context import current_run, wait_for_readiness

        run = current_run()  # no fail_fast: a check that cannot reach the warehouse pokes again
        return wait_for_readiness(run.settings, dt.date.fromisoformat(month))

    @task
    def plan(months: list[str]) -> list[dict]:
        from rko_airflow.context import task_run

        from rko_model.runs import monthly

        with task_run() as run:
            return monthly.plan_months(run.settings, list(months), run.run_id, int(run.params["partitions"]))

    @task
    def extract(planned: dict) -> dict:
        from rko_airflow.context import task_run

        from rko_model.common.partitions import Partition
        from rko_model.runs import monthly

        with task_run() as run:
            partition = Partition(planned["partition"], planned["partitions"])
            ref = monthly.extract(run.settings, planned["report_date"], planned["run_id"], partition)
        return {**ref, **_month_keys(planned)}

    @task
    def validate(extracted: dict) -> dict:
        from rko_airflow.context import task_run

        from rko_model.runs import monthly

        with task_run() as run:  # bad data does not get better on retry
            ref = monthly.validate(run.settings, extracted["report_date"], extracted["run_id"], extracted)
        return {**ref, **_month_keys(extracted)}

    @task(inlets=[CHAMPION])
    def score(validated: dict) -> dict:
        from rko_airflow.context import task_run

        from rko_model.runs import monthly

        with task_run() as run:
            month, run_id, version = validated["report_date"], validated["run_id"], validated["model_version"]
            ref = monthly.score(run.settings, month, run_id, validated, version)
        return {**ref, **_month_keys(validated)}

    @task(outlets=[PUBLISHED_LIST])
    def publish(month: str, scored: list[dict], validated: list[dict]) -> dict:
        from rko_airflow.context import task_run

        from rko_model.runs import monthly

        with task_run() as run:
            refs = monthly.refs_of_month(list(scored), month)
            run_id = refs[0]["run_id"] if refs else run.run_id
            checked = monthly.refs_of_month(list(validated), month)
            published = monthly.publish(run.settings, month, run_id, refs, validated=checked)
        run.context["outlet_events"][PUBLISHED_LIST].extra = {
            "report_date": month,
            "run_id": run_id,
            "model_version": published["model_version"],
            "rows": published["rows"],
        }
        return {**published, "report_date": month, "run_id": run_id}

    @task
    def record(
        published: dict, extracted: list[dict], validated: list[dict], scored: list[dict], readiness: list[dict]
    ) -> dict:
        from rko_airflow.context import task_run

        from rko_model.runs import monthly

        month = published["report_date"]
        with task_run() as run:  # idempotent: a retry records again, it never publishes again
            return monthly.record(
                run.settings,
                month,
                published["run_id"],
                extracted=monthly.refs_of_month(list(extracted), month),
                validated=monthly.refs_of_month(list(validated), month),
                scored=monthly.refs_of_month(list(scored), month),
                published=published,
                readiness=next((r for r in readiness if r.get("report_date") == month), None),
            )

    @task(inlets=[FEATURE_MARTS], outlets=[MARTS_CATCH_UP])
    def catch_up() -> list[str]:
        from airflow.sdk import get_current_context
        from rko_airflow.scoring_months import catch_up_marts

        return catch_up_marts(get_current_context())

    scored_months = months()
    readiness = wait_for_data.expand(month=scored_months)
    planned = plan(scored_months)
    readiness >> planned
    extracted = extract.expand(planned=planned)
    validated = validate.expand(extracted=extracted)
    scored = score.expand(validated=validated)
    published = publish.partial(scored=scored, validated=validated).expand(month=scored_months)
    record.partial(extracted=extracted, validated=validated, scored=scored, readiness=readiness).expand(
        published=published
    )
    catch_up()


def _month_keys(ref: dict) -> dict:
    """What each step passes on beside its own reference: the month, its run id and the run's model."""
    return {key: ref[key] for key in ("report_date", "run_id", "model_version")}


rko_monthly_scoring()
