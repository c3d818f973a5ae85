"""Registers the RKO monitoring page with Airflow: a FastAPI app and an entry in the UI's navigation.

The app is served by the API server under ``/rko-monitoring/``; the external view embeds it
in the Airflow UI at ``/plugin/rko-monitoring`` (the ``href`` is relative to the UI's base
URL and keeps its trailing slash, the app's root route).
"""

from __future__ import annotations

from typing import Any, ClassVar

from airflow.plugins_manager import AirflowPlugin
from rko_airflow.ui import URL_PREFIX, app


class RkoMonitoringPlugin(AirflowPlugin):
    name = "rko_monitoring"
    fastapi_apps: ClassVar[list[dict[str, Any]]] = [{"app": app, "url_prefix": URL_PREFIX, "name": "RKO monitoring"}]
    external_views: ClassVar[list[dict[str, Any]]] = [
        {
            "name": "RKO monitoring",
            "href": f"{URL_PREFIX.lstrip('/')}/",
            "url_route": "rko-monitoring",
            "destination": "nav",
        }
    ]
