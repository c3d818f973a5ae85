"""End to end: ``rko pilot simulate`` then ``rko pilot report``, on SQLite and PostgreSQL.

A small bank, two pilot months: the lists carry arms and reasons, the optimizer's contacts
are written back, the closed months are measured and stored, and the measurement holds the
generator's true increment within its interval.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from rko_model.cli import main
from rko_model.pilot.config import CONTROL, MODEL, RULES
from rko_model.pilot.measure import MODEL_VS_RULES
from rko_model.pilot.report import pilot_report
from rko_model.pilot.store import read_pilot_list, read_pilot_results
from rko_model.settings import PROJECT_ROOT, Settings
from rko_model.warehouse.query import read_frame
from rko_model.warehouse.staging import make_staging_engine
from tests.conftest import ENGINES, POSTGRES_URL, new_warehouse
from tests.helpers import reset_postgres_staging

CONFIG = PROJECT_ROOT / "config" / "pilot.json"

ARGS = ["--clients", "3000", "--history-months", "20", "--iterations", "60", "--train-months", "2"]


@pytest.fixture(scope="module", params=ENGINES)
def simulated(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    folder: Path = tmp_path_factory.mktemp(f"pilot-{request.param}")
    engine, url, drop = new_warehouse(request.param, folder)
    staging = url if request.param == "postgresql" else f"sqlite:///{folder / 'data' / 'mo_staging.db'}"
    if request.param == "postgresql":
        reset_postgres_staging(POSTGRES_URL)
    env = {"RKO_DATA_DIR": str(folder / "data"), "RKO_WAREHOUSE_URL": url, "RKO_STAGING_URL": staging}
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        assert main(["pilot", "simulate", "--months", "2", "--config", str(CONFIG), *ARGS]) == 0
        settings = Settings.from_env({**env, "RKO_PILOT_CONFIG": str(CONFIG)})
        yield settings
    engine.dispose()
    drop()


def _contacts(settings: Settings) -> pd.DataFrame:
    engine = sa.create_engine(settings.warehouse_url)
    kinds = {"client_id": "int", "contact_date": "date", "channel": "str", "campaign_id": "str", "arm": "str"}
    try:
        return read_frame(engine, "SELECT * FROM marketing_contacts", {}, kinds)  # type: ignore[arg-type]
    finally:
        engine.dispose()


def test_the_report_is_printed_and_stored_once_per_month(
    simulated: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for key in ("RKO_DATA_DIR", "RKO_WAREHOUSE_URL", "RKO_STAGING_URL"):
        monkeypatch.setenv(
            key, {"RKO_DATA_DIR": str(simulated.data_dir)}.get(key) or getattr(simulated, key[4:].lower())
        )
    assert main(["pilot", "report", "--config", str(CONFIG)]) == 0
    printed = capsys.readouterr().out
    assert "## Per month" in printed and "## Realised, retro estimate and truth" in printed
    assert main(["pilot", "report", "--config", str(CONFIG), "--out", str(tmp_path / "report.md")]) == 0  # a rerun
    assert (tmp_path / "report.md").read_text(encoding="utf-8").startswith("# Pilot pilot2026")
    stored = read_pilot_results(make_staging_engine(simulated.staging_url))
    assert stored.groupby("report_date").size().tolist() == [7, 7]  # 3 arms, 2 first-contact lines, 2 comparisons
    assert set(stored["line"]) == {
        MODEL,
        RULES,
        CONTROL,
        "model_first",
        "rules_first",
        MODEL_VS_RULES,
        "model_vs_rules_increment",
    }
    first, second = (
        stored[stored["report_date"] == d].set_index("line") for d in sorted(stored["report_date"].unique())
    )
    # the first pilot month has only first contacts; the second fewer first contacts than contacts
    assert first.loc["model_first", "contacted"] == first.loc[MODEL, "contacted"]
    assert 0 < second.loc["model_first", "contacted"] < second.loc[MODEL, "contacted"]
    assert (stored.loc[stored["line"] == CONTROL, "contacted"] == 0).all()
    assert set(stored["verdict"]) <= {"positive", "negative", "inconclusive"}


def test_the_lists_carry_arms_rules_ranks_and_reasons(simulated: Settings) -> None:
    staging = make_staging_engine(simulated.staging_url)
    months = sorted(pd.to_datetime(_contacts(simulated)["campaign_id"].str[-6:], format="%Y%m").unique())
    lists = [read_pilot_list(staging, simulated.sql_dir, (m + pd.offsets.MonthEnd(0)).date()) for m in months[-2:]]
    for listed in lists:
        assert set(listed["arm"]) == {MODEL, RULES, CONTROL}
        assert (listed["do_not_contact"] == (listed["arm"] == CONTROL)).all()
        assert sorted(listed["rules_rank"].astype(int)) == list(range(1, len(listed) + 1))
        top = listed["decile"] <= 3
        assert listed.loc[top, "reason_1"].notna().all() and listed.loc[top, "reason_text"].str.len().gt(0).all()
        assert listed.loc[~top & (listed["arm"] != RULES), "reason_1"].isna().all()
    both = lists[0].merge(lists[1], on="client_id")
    assert len(both) > 100 and (both["arm_x"] == both["arm_y"]).all()  # a client keeps its arm


def test_the_optimizer_contacts_equal_volumes_and_never_the_control(simulated: Settings) -> None:
    contacts = _contacts(simulated)
    pilot = contacts[contacts["campaign_id"].str.startswith("pilot2026")]
    assert set(pilot["arm"]) == {MODEL, RULES} and set(pilot["channel"]) == {"manager", "banner"}
    volumes = pilot.groupby(["campaign_id", "arm"]).size().unstack()
    assert (volumes[MODEL] == volumes[RULES]).all() and len(volumes) == 2
    staging = make_staging_engine(simulated.staging_url)
    for campaign in volumes.index:
        month = (pd.to_datetime(campaign[-6:], format="%Y%m") + pd.offsets.MonthEnd(0)).date()
        listed = read_pilot_list(staging, simulated.sql_dir, month).set_index("client_id")
        arms = listed.loc[pilot.loc[pilot["campaign_id"] == campaign, "client_id"], "arm"]
        assert CONTROL not in set(arms)


def test_the_measurement_holds_the_true_increment(simulated: Settings) -> None:
    report = pilot_report(simulated)
    assert len(report.months) == 2 and report.truth
    model, vs = report.pooled[MODEL], report.pooled[MODEL_VS_RULES]
    assert model["ci_low"] <= report.truth["model_increment"] <= model["ci_high"], (model, report.truth)
    rules = report.pooled[RULES]
    assert rules["ci_low"] <= report.truth["rules_increment"] <= rules["ci_high"], (rules, report.truth)
    assert vs["ci_low"] <= report.truth["model_vs_rules"] <= vs["ci_high"], (vs, report.truth)
    for line in ("model_first", "rules_first"):  # the first contacts, without attrition, hold their truth
        p = report.pooled[line]
        assert p["ci_low"] <= report.truth[f"{line}_increment"] <= p["ci_high"], (line, p, report.truth)
    assert report.truth["model_increment"] > 0  # the bank's contacts do help on average
    json.dumps(report.pooled)  # the pooled figures are plain numbers
