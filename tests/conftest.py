"""Shared fixtures: one parametrised warehouse fixture runs the SQL tests on SQLite and PostgreSQL.

PostgreSQL tests use ``RKO_TEST_POSTGRES_URL`` (default: the local server's ``test``
database). Each warehouse lives in a schema of its own, dropped afterwards. Without a
server they skip with the reason, unless ``RKO_REQUIRE_POSTGRES=1`` (CI), where that is a
failure.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from rko_model.settings import Settings
from rko_model.synth.generator import generate
from rko_model.synth.spec import BankSpec
from rko_model.warehouse.bank_writer import write_bank
from rko_model.warehouse.engine import make_engine

POSTGRES_URL = os.environ.get("RKO_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
REQUIRE_POSTGRES = os.environ.get("RKO_REQUIRE_POSTGRES") == "1"
ENGINES = ("sqlite", "postgresql")

#: A bank small enough to change in every test, and a report date with 12 months of history in it.
TINY_BANK = BankSpec(n_clients=400, n_months=16, seed=3)
R = dt.date(2026, 6, 30)

#: The bank most SQL tests share: small, but with every kind of client and 24 months.
SMALL_BANK = BankSpec(n_clients=1500, n_months=24, seed=7)


def _postgres_problem() -> str | None:
    try:
        engine = sa.create_engine(POSTGRES_URL)
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        engine.dispose()
    except sa.exc.OperationalError as exc:
        return f"PostgreSQL at {POSTGRES_URL} does not answer: {str(exc).splitlines()[0]}"
    return None


_PG_PROBLEM: list[str | None] = []


def postgres_problem() -> str | None:
    if not _PG_PROBLEM:
        _PG_PROBLEM.append(_postgres_problem())
    return _PG_PROBLEM[0]


def need_postgres() -> None:
    problem = postgres_problem()
    if problem is None:
        return
    if REQUIRE_POSTGRES:
        pytest.fail(f"RKO_REQUIRE_POSTGRES=1 but {problem}")
    pytest.skip(problem)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings of a throwaway checkout: data under tmp_path, SQL and config from the repo."""
    return Settings.from_env({"RKO_DATA_DIR": str(tmp_path / "data")})


def new_warehouse(kind: str, folder: Path) -> tuple[Engine, str, callable]:  # type: ignore[valid-type]
    """A fresh, empty warehouse: an SQLite file, or a PostgreSQL schema of its own."""
    if kind == "sqlite":
        url = f"sqlite:///{folder / f'wh-{uuid.uuid4().hex[:8]}.db'}"
        engine = make_engine(url)
        return engine, url, engine.dispose
    need_postgres()
    schema = f"rko_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    url = sa.engine.make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    url_text = url.render_as_string(hide_password=False)
    engine = make_engine(url_text)

    def drop() -> None:
        engine.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()

    return engine, url_text, drop


@pytest.fixture(params=ENGINES)
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty warehouse on each engine."""
    engine, _, drop = new_warehouse(request.param, tmp_path)
    yield engine
    drop()


@pytest.fixture(scope="session", params=ENGINES)
def bank(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """SMALL_BANK written once per engine for the session; tests must not change it."""
    engine, _, drop = new_warehouse(request.param, tmp_path_factory.mktemp(request.param))
    write_bank(engine, generate(SMALL_BANK))
    yield engine
    drop()


@pytest.fixture
def bank_settings(settings: Settings, bank: Engine) -> Settings:
    return replace(settings, warehouse_url=bank.url.render_as_string(hide_password=False))


@pytest.fixture(params=ENGINES)
def tiny(request: pytest.FixtureRequest, tmp_path: Path, settings: Settings) -> Iterator[tuple[Engine, Settings]]:
    """TINY_BANK on each engine, fresh for every test, which may change it."""
    engine, url, drop = new_warehouse(request.param, tmp_path)
    write_bank(engine, generate(TINY_BANK))
    yield engine, replace(settings, warehouse_url=url)
    drop()
