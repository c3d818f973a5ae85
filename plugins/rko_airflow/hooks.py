"""A hook that hands rko_model an engine built from an Airflow Connection.

Connections (no credentials in code; for local runs ``AIRFLOW_CONN_RKO_WAREHOUSE`` and
``AIRFLOW_CONN_RKO_STAGING``, JSON or URI):

- ``postgres`` connections become ``postgresql+psycopg2://login:password@host:port/schema``;
  an extra ``search_path`` selects the schema of the data-contract views.
- any connection whose extra holds ``sqlalchemy_url`` uses that URL as it is (the embedded
  SQLite default: ``{"conn_type": "generic", "extra": {"sqlalchemy_url": "sqlite:////.../warehouse.db"}}``).
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook
from sqlalchemy.engine import URL, Engine

from rko_model.errors import ConfigError
from rko_model.warehouse.engine import make_engine

WAREHOUSE_CONN_ID = "rko_warehouse"
STAGING_CONN_ID = "rko_staging"
#: Optional: the login that builds the feature marts (it writes the mart tables of the warehouse schema,
#: which the scoring role only reads, docs/security.md); without it the marts DAG uses rko_warehouse.
MARTS_CONN_ID = "rko_warehouse_marts"


class RkoDatabaseHook(BaseHook):
    """SQLAlchemy URL and engine of the warehouse or the staging database, from a Connection."""

    conn_name_attr = "rko_conn_id"
    default_conn_name = WAREHOUSE_CONN_ID
    conn_type = "generic"
    hook_name = "rko-scoring database"

    def __init__(self, rko_conn_id: str = WAREHOUSE_CONN_ID, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rko_conn_id = rko_conn_id

    def sqlalchemy_url(self) -> str:
        conn = self.get_connection(self.rko_conn_id)
        extra = conn.extra_dejson
        if extra.get("sqlalchemy_url"):
            return str(extra["sqlalchemy_url"])
        if conn.conn_type in ("postgres", "postgresql"):
            query = {"options": f"-csearch_path={extra['search_path']}"} if extra.get("search_path") else {}
            url = URL.create(
                "postgresql+psycopg2",
                username=conn.login or None,
                password=conn.password or None,
                host=conn.host or None,
                port=conn.port or None,
                database=conn.schema or None,
                query=query,
            )
            return url.render_as_string(hide_password=False)
        raise ConfigError(
            f"connection {self.rko_conn_id!r} (type {conn.conn_type!r}) is neither a postgres connection nor "
            "one with an extra 'sqlalchemy_url'"
        )

    def exists(self) -> bool:
        """Whether the Connection is defined (an optional one falls back to another)."""
        from airflow.sdk.exceptions import AirflowNotFoundException

        try:
            self.get_connection(self.rko_conn_id)
        except AirflowNotFoundException:
            return False
        return True

    def get_engine(self) -> Engine:
        return make_engine(self.sqlalchemy_url())
