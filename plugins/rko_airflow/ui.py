"""The RKO monitoring page as a FastAPI app for Airflow's API server, behind Airflow's authentication.

Plugin apps are mounted without any protection of their own, so the whole app depends on
``requires_authenticated()``: a request needs the Airflow UI's session cookie or a bearer
token (anonymous: 401). The data and the HTML come from ``rko_model.ui.dashboard`` and
``rko_model.ui.dashboard_page``; the staging database is the ``rko_staging`` Connection's.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import pandas as pd
from airflow.api_fastapi.core_api.security import requires_authenticated
from airflow.sdk.exceptions import AirflowNotFoundException
from fastapi import Depends, FastAPI
from fastapi.responses import HTMLResponse, JSONResponse

from rko_airflow.hooks import STAGING_CONN_ID, RkoDatabaseHook
from rko_model.runs.faults import describe, one_line
from rko_model.settings import Settings

log = logging.getLogger(__name__)

URL_PREFIX = "/rko-monitoring"


def page_settings() -> Settings:
    """rko_model's settings with the staging URL of the ``rko_staging`` Connection (the page reads nothing else)."""
    settings = Settings.from_env()
    return replace(settings, staging_url=RkoDatabaseHook(STAGING_CONN_ID).sqlalchemy_url())


def _reason(exc: Exception) -> str:
    """The one-line reason a person reads on the page (a bug's type and text, when no rule describes it)."""
    if isinstance(exc, AirflowNotFoundException):
        return f"the Airflow connection is missing: {exc}"
    fault = describe(exc)
    return fault.message if fault else one_line(f"{type(exc).__name__}: {exc}")


def _problem(exc: Exception) -> HTMLResponse:
    from rko_model.ui.dashboard_page import render_unavailable

    reason = _reason(exc)
    log.warning("RKO monitoring page unavailable: %s", reason, exc_info=describe(exc) is None)
    return HTMLResponse(render_unavailable(reason), status_code=503)


def create_app() -> FastAPI:
    app = FastAPI(
        title="RKO monitoring",
        dependencies=[Depends(requires_authenticated())],
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )

    @app.get("/", response_class=HTMLResponse)
    def page() -> HTMLResponse:
        from rko_model.ui.dashboard import read_monitoring
        from rko_model.ui.dashboard_page import render_page

        try:
            return HTMLResponse(render_page(read_monitoring(page_settings())))
        except Exception as exc:  # noqa: BLE001 - the page answers 503 with the reason, never a bare 500
            return _problem(exc)

    @app.get("/months.json")
    def months() -> JSONResponse:
        """The page's month rows as JSON records (dates ISO, missing figures null)."""
        from rko_model.ui.dashboard import read_monitoring

        try:
            view = read_monitoring(page_settings())
        except Exception as exc:  # noqa: BLE001 - as the page: 503 with the reason
            return JSONResponse({"detail": _reason(exc)}, status_code=503)
        frame = view.months.assign(report_date=view.months["report_date"].dt.strftime("%Y-%m-%d"))
        records = [{k: _json_value(v) for k, v in row.items()} for row in frame.astype(object).to_dict("records")]
        return JSONResponse({"champion": view.champion_version, "months": records})

    return app


def _json_value(value: Any) -> Any:
    """A month-table cell as JSON: missing as null, times as ISO text, numbers as numbers."""
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if hasattr(value, "item"):  # a numpy scalar
        return value.item()
    return value


app = create_app()
