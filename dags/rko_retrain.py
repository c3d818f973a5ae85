"""
### RKO propensity: retraining

Quarterly, or triggered by hand with its params: builds the training set (stacked monthly
snapshots with labels), trains a challenger, runs the out-of-time retro tests and writes the
report, then applies the registry's promotion rule. A promotion updates the Asset
`rko://registry/champion`, on which `rko_monthly_scoring` re-scores the latest month.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import CronTriggerTimetable, Param, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowSkipException
from rko_airflow.assets import CHAMPION


@dag(
    dag_id="rko_retrain",
    schedule=CronTriggerTimetable("0 6 2 1,4,7,10 *", timezone="UTC"),
    start_date=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    tags=["rko", "training"],
    default_args={"owner": "rko-scoring", "retries": 1, "retry_delay": dt.timedelta(minutes=10)},
    params={
        "train_months": Param(12, type="integer", minimum=2, description="monthly snapshots stacked for training"),
        "test_months": Param(6, type="integer", minimum=1, description="later months of the out-of-time tests"),
        "iterations": Param(500, type="integer", minimum=10),
        "negative_share": Param(0.5, type="number", exclusiveMinimum=0, maximum=1),
        "ablation": Param(True, type="boolean"),
        "std_tolerance": Param(0.01, type="number", minimum=0),
    },
    doc_md=__doc__,
)
def rko_retrain() -> None:
    @task
    def train() -> dict:
        from rko_airflow.context import task_settings

        from rko_model.model.train import TrainParams
        from rko_model.training import train_and_report
        from rko_model.warehouse.engine import make_engine

        params = get_current_context()["params"]
        settings = task_settings()
        run = train_and_report(
            make_engine(settings.warehouse_url),
            settings,
            n_train=params["train_months"],
            n_test=params["test_months"],
            params=TrainParams(iterations=params["iterations"], negative_share=params["negative_share"]),
            ablation=params["ablation"],
        )
        return {"version": run.run_id, "report": str(run.run_dir / "report.html"), **run.headline}

    @task(outlets=[CHAMPION])
    def promote(trained: dict) -> dict:
        from rko_airflow.context import task_settings

        from rko_model.model.registry import Registry

        params = get_current_context()["params"]
        decision = Registry(task_settings().registry_dir).promote(trained["version"], params["std_tolerance"])
        if not decision.promoted:  # no Asset event: the scoring side keeps its champion
            raise AirflowSkipException(f"{trained['version']} not promoted: {decision.reason}")
        return {"champion": decision.challenger, "reason": decision.reason}

    promote(train())


rko_retrain()
