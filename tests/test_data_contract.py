"""docs/data_contract.md and rko_model/warehouse/schema.py describe the same tables."""

from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy.engine import Engine

from rko_model.errors import DataContractError
from rko_model.settings import PROJECT_ROOT
from rko_model.warehouse import schema
from rko_model.warehouse.bank_writer import write_bank
from rko_model.warehouse.contract import check_contract, contract_problems, index_warnings

DOC = (PROJECT_ROOT / "docs" / "data_contract.md").read_text(encoding="utf-8")


def _documented() -> dict[str, list[tuple[str, str]]]:
    tables: dict[str, list[tuple[str, str]]] = {}
    contract = DOC.split("## Feature marts", 1)[0]  # the marts are the project's tables, not the contract's
    for section in re.split(r"^### ", contract, flags=re.M)[1:]:
        name = section.split("\n", 1)[0].strip()
        rows = re.findall(r"^\| (\w+) \| [^|]+ \| (yes|no) \|", section, flags=re.M)
        tables[name] = rows
    return tables


def test_every_contract_table_and_column_is_documented() -> None:
    documented = _documented()
    assert set(documented) == {t.name for t in schema.CONTRACT_TABLES}
    for table in schema.CONTRACT_TABLES:
        expected = [(c.name, "yes" if c.nullable else "no") for c in table.columns]
        assert documented[table.name] == expected, table.name


def test_the_truth_table_is_not_part_of_the_contract() -> None:
    assert schema.synthetic_truth not in schema.CONTRACT_TABLES
    assert "synthetic_truth" not in _documented()


def test_the_synthetic_bank_meets_the_contract(bank: Engine) -> None:
    assert contract_problems(bank) == []


def test_an_empty_warehouse_lacks_every_contract_table(warehouse: Engine) -> None:
    assert contract_problems(warehouse) == [f"no table or view {t.name}" for t in schema.CONTRACT_TABLES]
    with pytest.raises(DataContractError, match=r"data contract \(docs/data_contract\.md\): no table or view clients"):
        check_contract(warehouse)


def test_the_documented_indexes_are_the_schemas() -> None:
    """The index table of the doc lists what schema.INDEXES builds for the contract tables."""
    documented = set()
    for table, columns, include in re.findall(r"^\| `(\w+)` \| `\(([^)]*)\)`[^|]*\| ([^|]*)\|", DOC, flags=re.M):
        covered = tuple(c.strip() for c in include.strip(" `").split(",") if c.strip())
        documented.add((table, tuple(c.strip() for c in columns.split(",")), covered))
    built = {
        (spec.table.name, spec.columns, spec.include) for spec in schema.INDEXES if spec.table in schema.CONTRACT_TABLES
    }
    assert documented == built


def test_a_table_without_the_per_client_index_is_named(warehouse: Engine, caplog: pytest.LogCaptureFixture) -> None:
    """PostgreSQL reads each client's window through (client_id, date): a table lacking it is warned about."""
    write_bank(warehouse, iter([]))
    assert index_warnings(warehouse) == []
    with warehouse.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_payments_client_date")
    warnings = index_warnings(warehouse)
    if warehouse.dialect.name != "postgresql":
        assert warnings == []  # the other engines run the join-and-group SQL
        return
    assert len(warnings) == 1 and "payments has no index on (client_id, payment_date)" in warnings[0]
    with caplog.at_level(logging.WARNING, logger="rko_model.warehouse.contract"):
        check_contract(warehouse)
    assert "payments has no index" in caplog.text


def test_the_marts_are_documented_as_schema_py_builds_them() -> None:
    """The feature marts' tables, columns and indexes in the doc are schema.MART_TABLES and MART_INDEXES."""
    marts = DOC.split("## Feature marts", 1)[1]
    sections = {
        part.split("\n", 1)[0].strip(): re.findall(r"^\| (\w+) \| [^|]+ \| (yes|no) \|", part, flags=re.M)
        for part in re.split(r"^#### ", marts, flags=re.M)[1:]
    }
    assert set(sections) == {t.name for t in schema.MART_TABLES}
    for table in schema.MART_TABLES:
        assert sections[table.name] == [(c.name, "yes" if c.nullable else "no") for c in table.columns], table.name
    documented = set(re.findall(r"^\| (ix_mart_\w+) \| (\w+) \(([^)]*)\)", marts, flags=re.M))
    built = {(s.name, s.table.name, ", ".join(s.columns)) for s in schema.MART_INDEXES}
    assert documented == built
