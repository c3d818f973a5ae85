"""The Asset of the monthly feature marts: emitted when a month's marts are built, scheduling the scoring.

Kept apart from the DAG files so that both the producer (``rko_feature_marts``) and the
consumer (``rko_monthly_scoring``) import the same object, and so that it can move into a
shared Assets module as it is. An event's ``extra`` carries the month it built
(:data:`REPORT_DATE_KEY`), from which the triggered scoring run takes its report date.
"""

from __future__ import annotations

from rko_airflow.assets import FEATURE_MARTS

__all__ = ["FEATURE_MARTS", "REPORT_DATE_KEY"]

#: The key of the built month (ISO month end) in the Asset event's ``extra``.
REPORT_DATE_KEY = "report_date"
