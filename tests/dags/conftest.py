"""An Airflow home of its own for the DAG tests, set up before anything imports airflow.

Airflow reads its configuration when first imported, so the environment is set at import
time of this conftest (pytest imports it before the DAG test modules). The metadata
database is SQLite, migrated once per session.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from rko_model.settings import PROJECT_ROOT

AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="rko-airflow-"))
os.environ.update(
    {
        "AIRFLOW_HOME": str(AIRFLOW_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{AIRFLOW_HOME / 'airflow.db'}",
        "GX_ANALYTICS_ENABLED": "false",
    }
)
sys.path.insert(0, str(PROJECT_ROOT / "plugins"))


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Migrate the metadata database once (about 3 s)."""
    proc = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return AIRFLOW_HOME


@pytest.fixture(scope="module")
def seeded_monitoring(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A seeded monitoring database and a registry with a champion, wired (environment) as the API server finds them."""
    from tests.monitoring_seed import seed_champion, seed_monitoring

    folder = tmp_path_factory.mktemp("monitoring")
    staging_url = f"sqlite:///{folder / 'mo_staging.db'}"
    seed_monitoring(staging_url)
    version = seed_champion(folder / "registry")
    env = {
        "RKO_DATA_DIR": str(folder),
        "RKO_REGISTRY_DIR": str(folder / "registry"),
        "AIRFLOW_CONN_RKO_STAGING": json.dumps({"conn_type": "generic", "extra": {"sqlalchemy_url": staging_url}}),
    }
    patch = pytest.MonkeyPatch()
    for key, value in env.items():
        patch.setenv(key, value)
    yield {**env, "champion": version}
    patch.undo()
