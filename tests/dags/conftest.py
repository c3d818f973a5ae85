"""An Airflow home of its own for the DAG tests, set up before anything imports airflow.

Airflow reads its configuration when first imported, so the environment is set at import
time of this conftest (pytest imports it before the DAG test modules). The metadata
database is SQLite, migrated once per session.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
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
