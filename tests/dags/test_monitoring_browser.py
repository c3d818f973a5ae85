"""The monitoring page in a real browser: `airflow api-server` and headless Chromium, with screenshots.

The API server runs on a free port with SimpleAuthManager and one user whose password file
the test writes; Chromium gets the user's token as the UI's session cookie, opens the Airflow
UI at ``/plugin/rko-monitoring`` (the page framed in the UI) and the page itself, and saves
screenshots under ``tests/artifacts/``. Without Chromium the test is skipped with the reason,
unless ``RKO_REQUIRE_BROWSER=1``.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from rko_model.settings import PROJECT_ROOT
from tests.browser import Chromium, find_chromium, free_port, stop_group, wait_for_http
from tests.monitoring_seed import MONTHS, seeded_performance

ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts"
USER = "rko-analyst"


@pytest.fixture(scope="module")
def chromium() -> str:
    binary = find_chromium()
    if binary is None:
        reason = "headless Chromium not found (apt-get install chromium)"
        if os.environ.get("RKO_REQUIRE_BROWSER") == "1":
            pytest.fail(f"RKO_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    return binary


@pytest.fixture(scope="module")
def api_server(
    airflow_db: Path, seeded_monitoring: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """`airflow api-server` on a free port, one worker, its own process group; stopped with its children."""
    folder = tmp_path_factory.mktemp("api-server")
    password = secrets.token_urlsafe(16)
    (folder / "passwords.json").write_text(json.dumps({USER: password}), encoding="utf-8")
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:viewer",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(folder / "passwords.json"),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
    }
    log_path = folder / "api-server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "airflow",
                "api-server",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "1",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_for_http(f"{base}/api/v2/monitor/health", timeout=180, process=process)
        except (TimeoutError, RuntimeError) as exc:
            pytest.fail(f"{exc}\n--- api-server log ---\n{log_path.read_text(errors='replace')[-4000:]}")
        yield {"base": base, "password": password, "log": str(log_path)}
    finally:
        stop_group(process)


def _token(base: str, password: str) -> str:
    request = urllib.request.Request(
        f"{base}/auth/token",
        data=json.dumps({"username": USER, "password": password}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(json.loads(response.read())["access_token"])


def _get(url: str, token: str | None = None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


#: Rows of the month table inside the UI's iframe, 0 until the framed page has loaded.
FRAMED_ROWS = (
    "(() => { const f = document.querySelector('iframe'); const d = f && f.contentDocument;"
    " return d ? d.querySelectorAll('table.months tr').length : 0; })()"
)


def test_the_page_in_the_airflow_ui_and_alone(chromium: str, api_server: dict[str, str], tmp_path: Path) -> None:
    base = api_server["base"]
    assert _get(f"{base}/rko-monitoring/")[0] == 401  # the live server keeps the page closed to anonymous requests
    token = _token(base, api_server["password"])
    status, page = _get(f"{base}/rko-monitoring/", token)
    assert status == 200 and all(f"{m:%Y-%m}" in page for m in MONTHS)

    with Chromium(chromium, tmp_path / "profile") as browser:
        browser.set_cookie("_token", token, base)  # what the UI's login leaves behind
        browser.navigate(f"{base}/plugin/rko-monitoring")
        rows = browser.wait_for(FRAMED_ROWS, timeout=90)
        assert rows == len(MONTHS) + 1  # header + one per month, inside the UI's frame
        src = browser.evaluate("document.querySelector('iframe').src")
        assert src == f"{base}/rko-monitoring/"
        framed = browser.evaluate("document.querySelector('iframe').contentDocument.body.innerText")
        for row in seeded_performance():
            assert f"{row['gini']:.3f}" in framed
        in_ui = browser.screenshot(ARTIFACTS / "monitoring_in_airflow_ui.png")

        browser.navigate(f"{base}/rko-monitoring/")
        browser.wait_for("document.querySelectorAll('svg.chart').length === 4 && document.readyState === 'complete'")
        assert browser.evaluate("document.querySelectorAll('table.months tr').length") == len(MONTHS) + 1
        alone = browser.screenshot(ARTIFACTS / "monitoring_page.png", full_page=True)
    for shot in (in_ui, alone):
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
