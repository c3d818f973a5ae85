"""Only SQLite and PostgreSQL: anything else, Greenplum first of all, is refused with one line at engine creation."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from rko_model.errors import ConfigError
from rko_model.warehouse.backends import support
from rko_model.warehouse.engine import lookalike_of, make_engine
from rko_model.warehouse.staging import make_staging_engine
from tests.conftest import POSTGRES_URL, need_postgres


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("greenplum://gpadmin@gp-master:5432/dwh", "Greenplum"),
        ("postgresql+greenplum://gpadmin@gp-master:5432/dwh", "Greenplum"),
        ("redshift+psycopg2://u:secret@cluster:5439/dev", "Redshift"),
        ("mysql://u@h/db", "mysql"),
        ("oracle+oracledb://u@h/db", "oracle"),
    ],
)
def test_an_unsupported_warehouse_url_fails_at_engine_creation(url: str, named: str) -> None:
    for make in (make_engine, make_staging_engine):
        with pytest.raises(ConfigError) as caught:
            make(url)
        message = str(caught.value)
        assert "\n" not in message and "not supported yet" in message and named in message
        assert "docs/warehouses.md" in message and "secret" not in message


@pytest.mark.parametrize(
    ("version", "named"),
    [
        ("PostgreSQL 12.12 (Greenplum Database 7.1.0 build commit:e7c2b1f) on x86_64-pc-linux-gnu", "Greenplum"),
        (
            "PostgreSQL 8.0.2 on i686-pc-linux-gnu, compiled by GCC gcc (GCC) 3.4.2 20041017, Redshift 1.0.77467",
            "Redshift",
        ),
        ("CockroachDB CCL v23.1.11 (x86_64-pc-linux-gnu, built 2023/09/27)", "CockroachDB"),
        ("PostgreSQL 15.8 (Debian 15.8-0+deb12u1) on x86_64-pc-linux-gnu, compiled by gcc", None),
    ],
)
def test_postgres_lookalikes_are_told_from_their_version(version: str, named: str | None) -> None:
    assert lookalike_of(version) == named


def test_a_lookalike_behind_a_postgresql_url_is_refused_on_first_connect(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real first-connect check on the real server; here PostgreSQL itself plays the look-alike."""
    need_postgres()
    with make_engine(POSTGRES_URL).connect() as conn:  # the real server passes
        assert conn.execute(sa.text("SELECT 1")).scalar() == 1
    monkeypatch.setattr(support, "POSTGRES_LOOKALIKES", ("PostgreSQL",))
    with pytest.raises(ConfigError, match=r"^PostgreSQL \(server 'PostgreSQL 1\d.*'\) is not supported yet"):
        make_engine(POSTGRES_URL).connect()
