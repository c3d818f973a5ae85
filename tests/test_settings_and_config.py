from pathlib import Path

import pytest

from rko_model.common.exclusions import OkvedExclusions, load_exclusions
from rko_model.errors import ConfigError
from rko_model.settings import PROJECT_ROOT, Settings


def test_defaults_point_at_the_checkout(tmp_path: Path) -> None:
    settings = Settings.from_env({"RKO_DATA_DIR": str(tmp_path)})
    assert settings.warehouse_url == f"sqlite:///{tmp_path / 'warehouse.db'}"
    assert settings.sql_dir == PROJECT_ROOT / "sql"
    assert settings.okved_exclusions_path == PROJECT_ROOT / "config" / "okved_exclusions.txt"


def test_settings_are_read_when_asked_not_at_import(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RKO_WAREHOUSE_URL", "postgresql+psycopg2://u@h/db")
    assert Settings.from_env().warehouse_url == "postgresql+psycopg2://u@h/db"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"RKO_WAREHOUSE_URL": "warehouse.db"}, "RKO_WAREHOUSE_URL"),
        ({"RKO_SQL_DIR": "/nonexistent"}, "RKO_SQL_DIR"),
        ({"RKO_OKVED_EXCLUSIONS": "/nonexistent.txt"}, "RKO_OKVED_EXCLUSIONS"),
        ({"RKO_GINI_FLOOR": "0,3"}, "RKO_GINI_FLOOR: '0,3' is not a number"),
        ({"RKO_GINI_FLOOR": "30"}, "RKO_GINI_FLOOR: 30.0 is not a Gini"),
        ({"RKO_PSI_WARN": "0.3"}, "need 0 <= warn < alert, got 0.3 and 0.25"),
    ],
)
def test_bad_settings_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)


def test_monitoring_thresholds_default_and_read_from_the_environment(tmp_path: Path) -> None:
    defaults = Settings.from_env({"RKO_DATA_DIR": str(tmp_path)})
    assert (defaults.gini_floor, defaults.psi_warn, defaults.psi_alert) == (0.3, 0.1, 0.25)
    tuned = Settings.from_env(
        {"RKO_DATA_DIR": str(tmp_path), "RKO_GINI_FLOOR": "0.45", "RKO_PSI_WARN": "0.05", "RKO_PSI_ALERT": "0.2"}
    )
    assert (tuned.gini_floor, tuned.psi_warn, tuned.psi_alert) == (0.45, 0.05, 0.2)


def test_the_shipped_exclusion_list() -> None:
    exclusions = load_exclusions(PROJECT_ROOT / "config" / "okved_exclusions.txt")
    assert exclusions.classes == ("64", "65", "66", "84", "92")
    assert exclusions.codes == ("94.99",)
    assert exclusions.excludes("64.19") and exclusions.excludes("94.99")
    assert not exclusions.excludes("94.11") and not exclusions.excludes(None)


def test_a_malformed_exclusion_line_is_reported_with_its_number(tmp_path: Path) -> None:
    path = tmp_path / "ex.txt"
    path.write_text("# header\n64\n47-11  # typo\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"ex.txt:3: '47-11  # typo'"):
        load_exclusions(path)
    path.write_text("\n", encoding="utf-8")
    assert load_exclusions(path) == OkvedExclusions(classes=(), codes=())
