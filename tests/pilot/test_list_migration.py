"""A list table of the earlier version (no pilot columns) is migrated in place on both engines, rows kept."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy import Column, MetaData, Table
from sqlalchemy.engine import Engine
from sqlalchemy.schema import CreateSchema

from rko_model.pilot.arms import add_pilot_columns
from rko_model.pilot.config import PilotConfig
from rko_model.pilot.store import read_pilot_list
from rko_model.settings import Settings
from rko_model.stages.scoring import rank_scores
from rko_model.warehouse import staging
from rko_model.warehouse.list_columns import PILOT_COLUMN_NAMES
from rko_model.warehouse.staging import make_staging_engine, publish_month, read_published
from tests.conftest import ENGINES, POSTGRES_URL, need_postgres
from tests.helpers import reset_postgres_staging

OLD_MONTH, MONTH = dt.date(2026, 9, 30), dt.date(2026, 10, 31)
SQL_DIR = Settings.from_env({}).sql_dir


@pytest.fixture(params=ENGINES)
def old_staging(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A staging database whose list table is of version 1, holding one month."""
    if request.param == "sqlite":
        engine = make_staging_engine(f"sqlite:///{tmp_path / 'mo_staging.db'}")
    else:
        need_postgres()
        reset_postgres_staging(POSTGRES_URL)
        engine = make_staging_engine(POSTGRES_URL)
    version_1 = Table(
        "rko_propensity",
        MetaData(),
        *(
            Column(c.name, c.type, nullable=c.nullable)
            for c in staging.rko_propensity.columns
            if c.name not in PILOT_COLUMN_NAMES
        ),
        schema=staging.STAGING_SCHEMA,
        postgresql_partition_by="LIST (report_date)",
    )
    old = rank_scores(np.arange(100) + 1, np.linspace(1, 0, 100), OLD_MONTH, "v0", "old-run")
    old["loaded_at"] = dt.datetime(2026, 10, 5)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(CreateSchema(staging.STAGING_SCHEMA))
        version_1.create(conn)
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(
                "CREATE TABLE mo_staging.rko_propensity_20260930 PARTITION OF mo_staging.rko_propensity "
                "FOR VALUES IN ('2026-09-30')"
            )
        conn.execute(version_1.insert(), old.assign(report_date=OLD_MONTH).to_dict("records"))
    yield engine
    engine.dispose()


def test_an_earlier_table_is_migrated_and_keeps_its_rows(old_staging: Engine) -> None:
    before = {c["name"] for c in sa.inspect(old_staging).get_columns("rko_propensity", schema="mo_staging")}
    assert not before & set(PILOT_COLUMN_NAMES)
    ranked = rank_scores(np.arange(200) + 1, np.linspace(0, 1, 200), MONTH, "v1", "new-run")
    listed = add_pilot_columns(ranked, None, PilotConfig())
    assert publish_month(old_staging, listed, MONTH, SQL_DIR) == 200
    after = [c["name"] for c in sa.inspect(old_staging).get_columns("rko_propensity", schema="mo_staging")]
    assert after[-len(PILOT_COLUMN_NAMES) :] == list(PILOT_COLUMN_NAMES)  # appended after version 1's columns
    old = read_pilot_list(old_staging, SQL_DIR, OLD_MONTH)
    assert len(old) == 100 and old["arm"].isna().all() and (old["run_id"] == "old-run").all()
    new = read_pilot_list(old_staging, SQL_DIR, MONTH)
    assert len(new) == 200 and new["arm"].notna().all()
    assert (new["do_not_contact"] == (new["arm"] == "control")).all()
    # a reader of version 1 reads both months as before
    assert len(read_published(old_staging)) == 300
    # migrating twice is a no-op: a rerun of the month publishes again
    assert publish_month(old_staging, listed, MONTH, SQL_DIR) == 200
