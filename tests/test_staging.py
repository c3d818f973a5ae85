"""Publishing to mo_staging.rko_propensity on both engines: months replaced whole, bad lists refused."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from rko_model.scoring import rank_scores
from rko_model.warehouse.staging import make_staging_engine, publish_month, read_published
from tests.conftest import ENGINES, POSTGRES_URL, need_postgres

MONTH = dt.date(2026, 10, 31)


@pytest.fixture(params=ENGINES)
def staging(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = make_staging_engine(f"sqlite:///{tmp_path / 'mo_staging.db'}")
        yield engine
        engine.dispose()
        return
    need_postgres()
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA IF EXISTS mo_staging CASCADE")
        conn.exec_driver_sql("DROP SCHEMA IF EXISTS rko_monitoring CASCADE")
    engine = make_staging_engine(POSTGRES_URL)
    yield engine
    engine.dispose()
    admin.dispose()


def _ranked(n: int, seed: int, month: dt.date = MONTH) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return rank_scores(np.arange(n) + 1000, rng.random(n), month, "v1", f"run-{seed}")


def test_ranks_and_deciles() -> None:
    ranked = rank_scores(np.array([5, 3, 9, 1]), np.array([0.1, 0.9, 0.9, 0.5]), MONTH, "v", "r")
    assert ranked["client_id"].tolist() == [3, 9, 1, 5]  # ties go to the lower id
    assert ranked["rank"].tolist() == [1, 2, 3, 4]
    assert _ranked(1000, 1)["decile"].value_counts().eq(100).all()


def test_a_month_is_replaced_whole(staging: Engine) -> None:
    publish_month(staging, _ranked(500, 1), MONTH)
    publish_month(staging, _ranked(300, 2, dt.date(2026, 9, 30)), dt.date(2026, 9, 30))
    publish_month(staging, _ranked(400, 3), MONTH)  # a rerun of October
    october = read_published(staging, MONTH)
    assert len(october) == 400 and set(october["run_id"]) == {"run-3"}
    assert len(read_published(staging, dt.date(2026, 9, 30))) == 300
    assert len(read_published(staging)) == 700


def test_bad_lists_are_refused_and_the_month_stays(staging: Engine) -> None:
    publish_month(staging, _ranked(200, 1), MONTH)
    duplicated = pd.concat([_ranked(50, 2), _ranked(50, 2).iloc[:1]], ignore_index=True)
    with pytest.raises(ValueError, match="1 duplicated clients"):
        publish_month(staging, duplicated, MONTH)
    with pytest.raises(ValueError, match="another month"):
        publish_month(staging, _ranked(10, 3, dt.date(2026, 9, 30)), MONTH)
    assert set(read_published(staging, MONTH)["run_id"]) == {"run-1"}
