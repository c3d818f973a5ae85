"""The monitoring plugin inside Airflow's API app: registered, mounted, and closed to anonymous requests."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.monitoring_seed import MONTHS, seeded_performance


@pytest.fixture(scope="module")
def api(airflow_db: Path, seeded_monitoring: dict[str, str]):  # type: ignore[no-untyped-def]
    """Airflow's API app (core), with the plugins of the project's plugins folder mounted."""
    from airflow.api_fastapi.app import create_app, purge_cached_app

    app = create_app(apps="core")
    yield app
    purge_cached_app()


def _token(app, role: str = "viewer") -> str:  # type: ignore[no-untyped-def]
    """A JWT signed by the app's auth manager, as Airflow's own API tests make them."""
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return app.state.auth_manager.generate_jwt(SimpleAuthManagerUser(username="monitor", role=role))


def test_the_plugin_registers_an_app_and_a_nav_view(airflow_db: Path) -> None:
    from airflow import plugins_manager

    apps, _ = plugins_manager.get_fastapi_plugins()
    assert [a["url_prefix"] for a in apps if a["name"] == "RKO monitoring"] == ["/rko-monitoring"]
    plugins, errors = plugins_manager._get_plugins()
    assert not [e for e in errors if "rko" in e]
    view = next(p for p in plugins if p.name == "rko_monitoring").external_views[0]
    assert view["href"] == "rko-monitoring/" and view["url_route"] == "rko-monitoring"


def test_anonymous_and_forged_requests_are_refused(api) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    anonymous, forged = TestClient(api), TestClient(api, cookies={"_token": "not-a-token"})
    for path in ("/rko-monitoring/", "/rko-monitoring/months.json"):
        assert anonymous.get(path).status_code == 401
        assert anonymous.get(path, headers={"Authorization": "Bearer not-a-token"}).status_code == 403
        assert forged.get(path).status_code == 403


def test_an_authenticated_request_gets_the_page(api, seeded_monitoring: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    client = TestClient(api, headers={"Authorization": f"Bearer {_token(api)}"})
    response = client.get("/rko-monitoring/")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    page = response.text
    for month in MONTHS:
        assert f"<td class='l'>{month:%Y-%m}</td>" in page
    for row in seeded_performance():
        assert f"{row['gini']:.3f}" in page and f"{row['lift_top_decile']:.2f}" in page
    assert f"<dd>{seeded_monitoring['champion']}</dd>" in page and 'class="chart realised-gini"' in page

    data = client.get("/rko-monitoring/months.json").json()
    assert data["champion"] == seeded_monitoring["champion"]
    assert [m["report_date"] for m in data["months"]] == [m.isoformat() for m in MONTHS]
    realised = {m["report_date"]: m["gini"] for m in data["months"] if m["gini"] is not None}
    assert realised == {r["report_date"].isoformat(): pytest.approx(r["gini"]) for r in seeded_performance()}


def test_the_session_cookie_of_the_ui_is_enough(api) -> None:  # type: ignore[no-untyped-def]
    """The page is embedded in the UI's iframe, whose requests carry the UI's cookie, not a header."""
    from fastapi.testclient import TestClient

    client = TestClient(api, cookies={"_token": _token(api)})
    response = client.get("/rko-monitoring/")
    assert response.status_code == 200 and "RKO propensity: monitoring" in response.text


def test_a_missing_connection_is_a_readable_503(api, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    monkeypatch.delenv("AIRFLOW_CONN_RKO_STAGING")
    client = TestClient(api, headers={"Authorization": f"Bearer {_token(api)}"})
    response = client.get("/rko-monitoring/")
    assert response.status_code == 503 and re.search(r"rko_staging\S* isn&#39;t defined", response.text)


def test_the_reason_on_the_503_page_is_escaped(api, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """A reason carrying markup (a value from a table or a path) reaches the page as text, never as markup."""
    from fastapi.testclient import TestClient
    from rko_airflow import ui

    def broken() -> None:
        raise ValueError("\"'><script>alert(1)</script>")

    monkeypatch.setattr(ui, "page_settings", broken)
    client = TestClient(api, headers={"Authorization": f"Bearer {_token(api)}"})
    response = client.get("/rko-monitoring/")
    assert response.status_code == 503 and "<script>" not in response.text
    assert "&#34;&#39;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in response.text


def test_a_damaged_champion_file_is_a_503_with_the_reason(  # type: ignore[no-untyped-def]
    api, seeded_monitoring: dict[str, str]
) -> None:
    from fastapi.testclient import TestClient

    pointer = Path(seeded_monitoring["RKO_REGISTRY_DIR"]) / "champion.json"
    original = pointer.read_bytes()
    pointer.write_bytes(original[: len(original) // 2])  # truncated, as by a full disk
    try:
        client = TestClient(api, headers={"Authorization": f"Bearer {_token(api)}"})
        response = client.get("/rko-monitoring/")
        assert response.status_code == 503 and "champion pointer" in response.text and "damaged" in response.text
        assert client.get("/rko-monitoring/months.json").status_code == 503
    finally:
        pointer.write_bytes(original)


def test_a_damaged_monitoring_database_is_a_503_with_the_reason(  # type: ignore[no-untyped-def]
    api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from fastapi.testclient import TestClient

    (tmp_path / "rko_monitoring.db").write_bytes(b"not a database at all, " * 100)
    url = f"sqlite:///{tmp_path / 'mo_staging.db'}"
    monkeypatch.setenv(
        "AIRFLOW_CONN_RKO_STAGING", json.dumps({"conn_type": "generic", "extra": {"sqlalchemy_url": url}})
    )
    client = TestClient(api, headers={"Authorization": f"Bearer {_token(api)}"})
    response = client.get("/rko-monitoring/")
    assert response.status_code == 503 and "file is not a database" in response.text
    assert "Traceback" not in response.text
