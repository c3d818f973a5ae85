"""Every Airflow Asset of rko-scoring, in one place: the DAGs that produce and consume them import them here.

An Asset is the contract between a producer and its consumers: the producer's task declares it
as an outlet, and a consumer DAG is scheduled on it, so neither names the other. To react to a
new Asset event (a published month, a promoted champion) add a DAG scheduled on the Asset; see
``docs/consumers.md``. Only Airflow is imported here: DAG files import this at parse time.
"""

from __future__ import annotations

from airflow.sdk import Asset

#: A new champion model was promoted (``rko_retrain.promote``); the scoring DAG re-scores the latest month.
CHAMPION = Asset("rko://registry/champion")

#: A month's ranked list was published to ``mo_staging.rko_propensity`` (``rko_monthly_scoring.publish``).
#: The event's extra holds the month (``report_date``, ISO), ``run_id``, ``model_version`` and ``rows``.
PUBLISHED_LIST = Asset("rko://mo_staging/rko_propensity")

#: A month's feature marts were built (``rko_feature_marts``); the scoring DAG runs on it. The event's
#: extra holds the month (``REPORT_DATE_KEY``, ISO month end).
FEATURE_MARTS = Asset("rko://warehouse/feature_marts")

#: Every Asset above, for tests and documentation.
ALL = (CHAMPION, PUBLISHED_LIST, FEATURE_MARTS)
