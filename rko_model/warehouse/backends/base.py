"""The one interface every warehouse backend implements (see docs/warehouses.md).

Everything that differs between warehouses sits behind :class:`WarehouseBackend`, the way
httpx keeps its transports behind one documented interface: the rest of ``rko_model`` asks
:func:`rko_model.warehouse.backends.backend_for` for the engine's backend and never looks at
the dialect itself. A new warehouse (Greenplum, say) is one more subclass, registered in
``backends/__init__.py``, and passes ``tests/warehouse/test_backends.py``.

Methods that take a ``Connection`` work inside the caller's transaction; methods that take an
``Engine`` open what they need themselves. Driver and SQLAlchemy errors pass through: the
callers turn them into the errors of :mod:`rko_model.errors` with their own context.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import pandas as pd
from sqlalchemy import Table
from sqlalchemy.engine import URL, Connection, Engine

from rko_model.errors import MonthBusyError
from rko_model.warehouse.binding import Params
from rko_model.warehouse.sqlfiles import load_sql

if TYPE_CHECKING:
    from rko_model.warehouse.readers import Reader


class WarehouseBackend(ABC):
    """What a warehouse must provide: engines, fast reads and loads, atomic months, plans and roles."""

    #: The dialect name SQLAlchemy reports for this warehouse's engines.
    name: ClassVar[str]
    #: Suffixes of the per-warehouse SQL files, tried in this order before the common
    #: ``<name>.sql`` (``sql/<name>.<variant>.sql``); a Greenplum backend might try
    #: ``("greenplum", "postgresql")``.
    sql_variants: ClassVar[tuple[str, ...]]
    #: Whether reading on several connections at once pays: a snapshot read in parts, months
    #: of a training set read side by side (a server: yes; one embedded file: no).
    parallel_reads: ClassVar[bool]
    #: Whether this warehouse's snapshot SQL reads each eligible client's window through an
    #: index on ``(client_id, date)``: then the contract's indexes matter (a warning names a
    #: table without one) and each source query's plan is checked before the extract runs.
    per_client_index_reads: ClassVar[bool]

    # -- engines and schemas ------------------------------------------------------------------

    @abstractmethod
    def create_engine(self, url: URL) -> Engine:
        """An engine for the warehouse at ``url``, set up as the rest of the project expects."""

    @abstractmethod
    def create_staging_engine(self, url: URL, schemas: Sequence[str]) -> Engine:
        """An engine on which the tables of ``schemas`` resolve by their qualified names."""

    @abstractmethod
    def ensure_schemas(self, conn: Connection, schemas: Sequence[str]) -> None:
        """Create the missing ``schemas`` in the caller's transaction (nothing where they are files)."""

    # -- SQL text and values -------------------------------------------------------------------

    def load_sql(self, sql_dir: Path, name: str) -> str:
        """The text of ``sql/<name>``: this warehouse's variant file if there is one, else the common file."""
        return load_sql(sql_dir, name, self.sql_variants)

    @abstractmethod
    def bind_values(self, params: Params) -> dict[str, object]:
        """``params`` as this warehouse's driver should bind them (SQLite compares dates as ISO text)."""

    # -- reading and loading -------------------------------------------------------------------

    @abstractmethod
    def read_frame(self, bind: Engine | Connection, sql: str, params: Params, kinds: Mapping[str, str]) -> pd.DataFrame:
        """The rows of ``sql``, fast (COPY on PostgreSQL, a cursor on SQLite); ``params`` are the ones ``sql`` names.

        ``kinds`` may guide the parsing (text stays text); the caller coerces the columns afterwards.
        """

    def open_reader(self, engine: Engine) -> AbstractContextManager[Reader]:
        """A session that runs statements and reads queries against its own temporary tables.

        The portable one is a SQLAlchemy connection whose transaction is rolled back at the
        end; a backend with a faster transport for wide results returns its own
        (:mod:`rko_model.warehouse.readers`).
        """
        from rko_model.warehouse.readers import connection_reader  # the readers use the backends

        return connection_reader(engine)

    @abstractmethod
    def bulk_insert(self, conn: Connection, table: Table, frame: pd.DataFrame) -> None:
        """Append ``frame`` (exactly ``table``'s columns, in order) to ``table`` in the caller's transaction."""

    @abstractmethod
    def refresh_statistics(self, engine: Engine, tables: Sequence[Table]) -> bool:
        """After a large load: fresh statistics and visibility (``VACUUM (ANALYZE)``); False if nothing to do."""

    @abstractmethod
    def write_transaction(self, engine: Engine, wait_seconds: int) -> AbstractContextManager[Connection]:
        """A transaction that holds the write lock from its start, waiting up to ``wait_seconds`` for it.

        For a job that reads before it writes while another one may be writing (SQLite's
        ``BEGIN IMMEDIATE``); servers that lock per row or by advisory lock open a plain transaction.
        """

    @abstractmethod
    def explain(self, conn: Connection, sql: str, params: Params) -> dict:
        """The planner's plan of ``sql`` (planned, not run), as a tree of dicts with ``Node Type`` and ``Plans``."""

    # -- months: claim, hold, publish ----------------------------------------------------------

    @abstractmethod
    def ensure_functions(self, conn: Connection, sql_dir: Path) -> None:
        """Install the server-side publishing functions where missing or outdated (nothing where there are none)."""

    @abstractmethod
    def claim_month(self, conn: Connection, report_date: dt.date, run_id: str) -> int:
        """Advance the month's generation for ``run_id``; the new value is the run's fencing token."""

    @abstractmethod
    def publish_month(
        self, conn: Connection, rows: pd.DataFrame, report_date: dt.date, run_id: str, token: int | None, sql_dir: Path
    ) -> tuple[int, int]:
        """Replace the month's list with ``rows`` in the caller's transaction; returns (rows removed, rows published).

        Only while ``token`` is still the month's generation (a compare-and-advance), else
        :class:`MonthBusyError` (permanent) and nothing changes; ``token`` None claims the month
        first, in the same transaction. Two publishes of one month never interleave.
        """

    @abstractmethod
    def hold_month(self, engine: Engine, report_date: dt.date, run_id: str) -> AbstractContextManager[None]:
        """A lock on the month that goes with this process, or :class:`MonthBusyError` at once if another holds it."""

    @abstractmethod
    def record_run_row(self, conn: Connection, values: dict[str, object]) -> None:
        """Replace the run-metrics row of ``values['run_id']``; refuse a run id recorded for another month."""

    @abstractmethod
    def replace_month_rows(
        self, conn: Connection, table: Table, report_date: dt.date, values: list[dict[str, object]]
    ) -> None:
        """Replace a monitoring ``table``'s rows of ``report_date`` with ``values``, in the caller's transaction."""

    # -- roles ---------------------------------------------------------------------------------

    @abstractmethod
    def set_up_roles(
        self, engine: Engine, sql_dir: Path, session_settings: Mapping[str, str], prepare: Callable[[Connection], None]
    ) -> None:
        """Create or refresh the least-privilege roles in one transaction, after ``prepare`` (which creates the tables).

        ``session_settings`` (``rko.*``) carry the role names and the allowed cells to the
        roles script as bound values. A warehouse without roles raises :class:`ConfigError`.
        """


def month_busy(report_date: dt.date, run_id: str) -> MonthBusyError:
    """The error of a run that finds its month held by another run."""
    return MonthBusyError(
        f"another run is scoring {report_date} right now; run {run_id} did not start (rerun it when that ends)"
    )


def table_rows(table: Table, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame``'s columns of ``table``, in the table's order; a missing column is refused."""
    columns = [c.name for c in table.columns]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"frame for {table.name} lacks columns {missing}")
    return frame[columns]
