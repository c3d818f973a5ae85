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

#: A feature marts event is waiting that no scoring run consumed (``rko_monthly_scoring.catch_up``): the
#: scoring DAG runs on it too, and that run consumes the waiting event. Airflow queues one run per Asset and
#: consumer, not per event (see ``rko_airflow.asset_catch_up``), so two months built together can leave one
#: event without a run of its own. The event's extra holds the waiting months (``report_dates``, ISO).
MARTS_CATCH_UP = Asset("rko://scoring/marts_catch_up")

#: A published list's event is waiting that no export run consumed (``rko_list_export.catch_up``): the
#: export DAG runs on it too, as the scoring DAG does on ``MARTS_CATCH_UP`` (two months published together).
LIST_CATCH_UP = Asset("rko://export/list_catch_up")

#: Every Asset above, for tests and documentation.
ALL = (CHAMPION, PUBLISHED_LIST, FEATURE_MARTS, MARTS_CATCH_UP, LIST_CATCH_UP)
