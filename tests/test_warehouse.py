"""The I/O layer on both engines: bulk loads, reads, all-or-nothing bank writes, SQL file lookup."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from rko_model.errors import ConfigError, DataContractError, WarehouseError
from rko_model.synth.generator import generate
from rko_model.synth.spec import BankSpec
from rko_model.warehouse import schema
from rko_model.warehouse.backends._postgresql import binary_formats
from rko_model.warehouse.bank_writer import write_bank
from rko_model.warehouse.bulk import bulk_insert
from rko_model.warehouse.engine import make_engine
from rko_model.warehouse.query import coerce, read_frame
from rko_model.warehouse.sqlfiles import load_sql
from tests.helpers import table


def _awkward_payments() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "payment_id": [1, 2, 3],
            "client_id": [10, 10, 11],
            "payment_date": pd.to_datetime(["2026-01-31", "2026-02-01", "2024-02-29"]).astype("datetime64[s]"),
            "amount": [0.01, 1234567.89, 1e-3],
            "direction": ["in", "out", "in"],
            "counterparty_inn": ["0012345678", None, "7700000000"],
            "purpose": ['Оплата "по счету", №1; НДС', "строка\nс переносом, и запятой", None],
        }
    )


def test_bulk_insert_round_trips_awkward_values(warehouse: Engine) -> None:
    frame = _awkward_payments()
    write_bank(warehouse, iter([("payments", frame)]))
    back = table(warehouse, "payments").sort_values("payment_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(back, frame, check_dtype=False)
    assert back["counterparty_inn"].iloc[0] == "0012345678"  # leading zeros kept


def test_a_failed_bank_write_leaves_the_previous_bank(warehouse: Engine) -> None:
    spec = BankSpec(n_clients=200, n_months=6, seed=1)
    first = write_bank(warehouse, generate(spec))

    def broken() -> Iterator[tuple[str, pd.DataFrame]]:
        for i, chunk in enumerate(generate(BankSpec(n_clients=300, n_months=6, seed=2))):
            if i == 5:
                raise RuntimeError("generator died")
            yield chunk

    with pytest.raises(RuntimeError, match="generator died"):
        write_bank(warehouse, broken())
    assert len(table(warehouse, "clients")) == first["clients"] == 200
    assert len(table(warehouse, "payments")) == first["payments"]

    bad = _awkward_payments().assign(payment_date=pd.NaT)  # violates NOT NULL
    with pytest.raises(WarehouseError, match="rolled back"):
        write_bank(warehouse, iter([("clients", pd.DataFrame()), ("payments", bad)]))
    assert len(table(warehouse, "clients")) == 200


def test_list_parameters_expand_and_may_be_empty(warehouse: Engine) -> None:
    write_bank(warehouse, iter([("payments", _awkward_payments())]))
    sql = "SELECT payment_id FROM payments WHERE direction IN :dirs AND payment_date <= :d ORDER BY payment_id"
    got = read_frame(warehouse, sql, {"dirs": ["in"], "d": dt.date(2026, 1, 31)}, {"payment_id": "int"})
    assert got["payment_id"].tolist() == [1, 3]
    sql = "SELECT payment_id FROM payments WHERE direction NOT IN :dirs ORDER BY payment_id"
    got = read_frame(warehouse, sql, {"dirs": []}, {"payment_id": "int"})
    assert got["payment_id"].tolist() == [1, 2, 3]
    empty = read_frame(warehouse, "SELECT payment_id FROM payments WHERE amount < 0", {}, {"payment_id": "int"})
    assert empty.empty and list(empty.columns) == ["payment_id"]


def test_a_failing_query_is_a_warehouse_error(warehouse: Engine) -> None:
    with pytest.raises(WarehouseError, match="query failed"):
        read_frame(warehouse, "SELECT * FROM no_such_table", {})


def test_only_sqlite_and_postgresql_are_supported() -> None:
    with pytest.raises(ConfigError, match="only sqlite, postgresql"):
        make_engine("mysql://u@h/db")
    with pytest.raises(ConfigError, match="not a valid"):
        make_engine("::::")


def test_per_dialect_sql_files_win(tmp_path: Path) -> None:
    (tmp_path / "q.sql").write_text("SELECT 1", encoding="utf-8")
    (tmp_path / "q.postgresql.sql").write_text("SELECT 2", encoding="utf-8")
    assert load_sql(tmp_path, "q", "sqlite") == "SELECT 1"
    assert load_sql(tmp_path, "q", "postgresql") == "SELECT 2"
    with pytest.raises(ConfigError, match=r"no SQL file nope\.sql"):
        load_sql(tmp_path, "nope", "sqlite")


def test_schema_creates_every_table_and_index(warehouse: Engine) -> None:
    write_bank(warehouse, iter([]))
    import sqlalchemy as sa

    inspector = sa.inspect(warehouse)
    assert set(inspector.get_table_names()) >= {t.name for t in schema.SYNTHETIC_TABLES}
    names = {ix["name"] for t in schema.SYNTHETIC_TABLES for ix in inspector.get_indexes(t.name)}
    assert names == {spec.name for spec in schema.INDEXES}
    assert np.isfinite(len(names))


def test_numeric_frames_round_trip_through_binary_copy(warehouse: Engine) -> None:
    """All-numeric, null-free frames take PostgreSQL's binary COPY; the values come back exactly."""
    numbers = sa.Table(
        "numbers",
        sa.MetaData(),
        sa.Column("big", sa.BigInteger, nullable=False),
        sa.Column("small", sa.Integer, nullable=False),
        sa.Column("real", sa.Float, nullable=False),
    )
    frame = pd.DataFrame(
        {
            "big": np.array([-(2**62), 0, 2**40 + 7], dtype=np.int64),
            "small": np.array([-5, 2**31 - 1, 3], dtype=np.int32),
            "real": [np.pi, -1e-300, 1e300],
        }
    )
    assert binary_formats(numbers, frame) == [">i8", ">i4", ">f8"]
    assert binary_formats(numbers, frame.assign(real=[1.0, None, 2.0])) is None  # a NULL goes through CSV
    with warehouse.begin() as conn:
        numbers.create(conn)
        assert bulk_insert(conn, numbers, frame) == 3
    back = read_frame(warehouse, "SELECT big, small, real FROM numbers ORDER BY big", {})
    assert back["big"].tolist() == frame["big"].tolist()
    assert back["small"].tolist() == frame["small"].tolist()
    assert back["real"].tolist() == frame["real"].tolist()


@pytest.mark.parametrize(
    ("values", "kind", "message"),
    [
        (["2026-10-31", "31.10.2026"], "date", "column x should hold dates (YYYY-MM-DD) but holds '31.10.2026'"),
        (["12", "12 чел."], "float", "column x should hold numbers but holds '12 чел.'"),
        (["7", "семь"], "int", "column x should hold whole numbers but holds 'семь'"),
    ],
)
def test_values_of_the_wrong_kind_are_contract_errors(values: list[str], kind: str, message: str) -> None:
    with pytest.raises(DataContractError, match=re.escape(message)):
        coerce(pd.DataFrame({"x": values}), {"x": kind})  # type: ignore[dict-item]
