"""The one settings object, read from the environment when a task or command starts.

Nothing reads the environment at import time: call :meth:`Settings.from_env` inside the
task, command or test that needs it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from rko_model.errors import ConfigError

#: The checkout the package was installed from (``pip install -e .``); sql/ and config/ live here.
PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: Realised Gini below which a scored month raises an alert once its 3-month window has closed.
DEFAULT_GINI_FLOOR = 0.3
#: Score PSI levels: from WARN a warning, above ALERT a failure.
DEFAULT_PSI_WARN, DEFAULT_PSI_ALERT = 0.1, 0.25
#: Where snapshots read their features: the monthly marts where they cover the window ("auto"),
#: the marts or nothing ("marts"), or the raw tables always ("raw", a warehouse without marts).
FEATURE_SOURCES = ("auto", "marts", "raw")
#: Hours after a month closes that the scoring DAG waits for its data before it fails (10 days).
DEFAULT_READINESS_DEADLINE_HOURS = 240.0


@dataclass(frozen=True)
class Settings:
    """Where the warehouse and the project's files are.

    Attributes:
        warehouse_url: SQLAlchemy URL of the warehouse holding the data-contract tables.
        staging_url: where the ranked lists (schema ``mo_staging``) and run metrics (schema
            ``rko_monitoring``) go; on SQLite a file per schema, ATTACHed under that name.
        data_dir: this machine's local folder: the default SQLite warehouse, the default artefact root,
            and the package cache (:attr:`package_cache_dir`).
        sql_dir: folder of the SQL files.
        okved_exclusions_path: text file listing OKVED codes or classes left out.
        registry_url: the model registry (packages, champion pointer, promotion decisions), a
            URL of the artefact store; by default ``<artifact_url>/registry``, overridden by
            ``RKO_REGISTRY_DIR`` (a URL, or a plain path: a local folder). See
            :mod:`rko_model.model.registry`.
        runs_url: one folder per training run (metrics, predictions, the HTML report); by
            default ``<artifact_url>/runs``, overridden by ``RKO_RUNS_DIR`` like the registry.
        gini_floor: realised Gini of a scored month below which monitoring raises an alert.
        psi_warn: score PSI from which monitoring logs a warning.
        psi_alert: score PSI above which monitoring raises an alert.
        pilot_config_path: JSON file of the pilot configuration (``RKO_PILOT_CONFIG``); None: the
            permanent 5% control group (:mod:`rko_model.pilot.config`).
        artifact_url: root of the artefact store (``RKO_ARTIFACT_URL``, fsspec: ``file://`` or
            ``s3://``) for the files tasks hand on (snapshots, scores, validation results,
            exported lists), the model registry and the training runs; by default the data
            folder itself. See :mod:`rko_model.storage.artifacts`.
        feature_source: ``auto`` (default: the feature marts where every month of the snapshot's
            window is built, else the raw tables), ``marts`` (marts required) or ``raw``.
        readiness_deadline_hours: how long after a month closes the scoring DAG waits for the
            month's data to be loaded (rko_model/stages/readiness.py) before it fails naming the sources.
    """

    warehouse_url: str
    staging_url: str
    data_dir: Path
    sql_dir: Path
    okved_exclusions_path: Path
    gini_floor: float = DEFAULT_GINI_FLOOR
    psi_warn: float = DEFAULT_PSI_WARN
    psi_alert: float = DEFAULT_PSI_ALERT
    pilot_config_path: Path | None = None
    artifact_url: str = ""
    registry_url: str = ""
    runs_url: str = ""
    feature_source: str = "auto"
    readiness_deadline_hours: float = DEFAULT_READINESS_DEADLINE_HOURS

    def __post_init__(self) -> None:
        from rko_model.storage.artifacts import default_root, join, to_url

        if not self.artifact_url:  # settings built in code default to the data folder, like from_env
            object.__setattr__(self, "artifact_url", default_root(self.data_dir))
        for name in ("registry", "runs"):  # under the artefact root unless set; a plain path is a local folder
            value = getattr(self, f"{name}_url")
            object.__setattr__(self, f"{name}_url", to_url(value) if value else join(self.artifact_url, name))

    @property
    def package_cache_dir(self) -> Path:
        """This machine's verified copies of registry packages (CatBoost loads a model from a local file only)."""
        return self.data_dir / "cache" / "packages"

    def pilot_config(self):  # type: ignore[no-untyped-def]
        """The pilot configuration (arm shares, volumes, costs), read from its file when one is set."""
        from rko_model.pilot.config import load_pilot_config

        return load_pilot_config(self.pilot_config_path)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``RKO_*`` variables, with defaults for a local checkout."""
        env = os.environ if env is None else env
        data_dir = Path(env.get("RKO_DATA_DIR", str(PROJECT_ROOT / "data"))).expanduser()
        url = env.get("RKO_WAREHOUSE_URL") or f"sqlite:///{data_dir / 'warehouse.db'}"
        default_staging = f"sqlite:///{data_dir / 'mo_staging.db'}" if url.startswith("sqlite") else url
        settings = cls(
            warehouse_url=url,
            staging_url=env.get("RKO_STAGING_URL") or default_staging,
            data_dir=data_dir,
            sql_dir=Path(env.get("RKO_SQL_DIR", str(PROJECT_ROOT / "sql"))),
            okved_exclusions_path=Path(
                env.get("RKO_OKVED_EXCLUSIONS", str(PROJECT_ROOT / "config" / "okved_exclusions.txt"))
            ),
            gini_floor=_float(env, "RKO_GINI_FLOOR", DEFAULT_GINI_FLOOR),
            psi_warn=_float(env, "RKO_PSI_WARN", DEFAULT_PSI_WARN),
            psi_alert=_float(env, "RKO_PSI_ALERT", DEFAULT_PSI_ALERT),
            pilot_config_path=Path(env["RKO_PILOT_CONFIG"]) if env.get("RKO_PILOT_CONFIG") else None,
            artifact_url=env.get("RKO_ARTIFACT_URL", ""),
            registry_url=env.get("RKO_REGISTRY_DIR", ""),
            runs_url=env.get("RKO_RUNS_DIR", ""),
            feature_source=(env.get("RKO_FEATURE_SOURCE") or "auto").strip().lower(),
            readiness_deadline_hours=_float(env, "RKO_READINESS_DEADLINE_HOURS", DEFAULT_READINESS_DEADLINE_HOURS),
        )
        settings.check()
        return settings

    def check(self) -> None:
        """Fail early, with the setting's name, when a path the project needs is missing."""
        if not self.sql_dir.is_dir():
            raise ConfigError(f"RKO_SQL_DIR: SQL folder {self.sql_dir} does not exist")
        from rko_model.storage.artifacts import check_root, local_path

        check_root(self.artifact_url)
        for name, url in (("RKO_REGISTRY_DIR", self.registry_url), ("RKO_RUNS_DIR", self.runs_url)):
            check_root(url, name)
        for name, folder in (
            ("RKO_DATA_DIR", self.data_dir),
            ("RKO_REGISTRY_DIR", local_path(self.registry_url)),
            ("RKO_RUNS_DIR", local_path(self.runs_url)),
        ):
            if folder is not None and folder.exists() and not folder.is_dir():
                raise ConfigError(f"{name}: {folder} is a file, not a folder: point {name} at a folder")
        if not self.okved_exclusions_path.is_file():
            raise ConfigError(f"RKO_OKVED_EXCLUSIONS: exclusion list {self.okved_exclusions_path} does not exist")
        for name, url in (("RKO_WAREHOUSE_URL", self.warehouse_url), ("RKO_STAGING_URL", self.staging_url)):
            if "://" not in url:
                raise ConfigError(
                    f"{name}: {url!r} is not a database URL "
                    "(e.g. sqlite:///data/warehouse.db or postgresql+psycopg2://user@host/db)"
                )
        if self.pilot_config_path is not None and not self.pilot_config_path.is_file():
            raise ConfigError(f"RKO_PILOT_CONFIG: pilot configuration {self.pilot_config_path} does not exist")
        if not -1.0 <= self.gini_floor <= 1.0:
            raise ConfigError(f"RKO_GINI_FLOOR: {self.gini_floor} is not a Gini (between -1 and 1)")
        if self.feature_source not in FEATURE_SOURCES:
            raise ConfigError(f"RKO_FEATURE_SOURCE: {self.feature_source!r} is not one of {', '.join(FEATURE_SOURCES)}")
        if self.readiness_deadline_hours < 0:
            raise ConfigError(
                f"RKO_READINESS_DEADLINE_HOURS: {self.readiness_deadline_hours} is negative (hours to wait for a month)"
            )
        if not 0.0 <= self.psi_warn < self.psi_alert:
            raise ConfigError(
                f"RKO_PSI_WARN and RKO_PSI_ALERT: need 0 <= warn < alert, got {self.psi_warn} and {self.psi_alert}"
            )


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    """A numeric setting; a typo names the variable instead of surfacing as a bare ValueError."""
    value = env.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return float(value)
    except ValueError as exc:
        raise ConfigError(f"{name}: {value!r} is not a number") from exc
