"""The nested-loop check of rko_model.warehouse.plans, on plans shaped as PostgreSQL prints them."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from rko_model.errors import DataContractError
from rko_model.settings import Settings
from rko_model.stages.snapshot import extract_snapshot
from rko_model.synth.generator import generate
from rko_model.warehouse.bank_writer import write_bank
from rko_model.warehouse.plans import per_client_full_scans
from tests.conftest import TINY_BANK, R, new_warehouse
from tests.helpers import run

OUTER = {"Node Type": "Seq Scan", "Relation Name": "snapshot_eligible", "Alias": "el"}


def _loop(inner: dict) -> dict:
    return {"Node Type": "Nested Loop", "Plans": [OUTER, {"Node Type": "Aggregate", "Plans": [inner]}]}


def test_an_index_range_scan_per_client_passes() -> None:
    inner = {
        "Node Type": "Index Only Scan",
        "Relation Name": "payments",
        "Index Cond": "((client_id = el.client_id) AND (payment_date > '2025-10-31'::date))",
    }
    assert per_client_full_scans(_loop(inner), "snapshot_eligible", "el.client_id") == []


@pytest.mark.parametrize(
    "inner",
    [
        {"Node Type": "Seq Scan", "Relation Name": "payments", "Filter": "(client_id = el.client_id)"},
        {"Node Type": "Index Scan", "Relation Name": "payments", "Index Cond": "(payment_date > '2025-10-31'::date)"},
        {
            "Node Type": "Bitmap Heap Scan",
            "Relation Name": "payments",
            "Plans": [{"Node Type": "Bitmap Index Scan", "Index Cond": "(payment_date > '2025-10-31'::date)"}],
        },
    ],
    ids=["seq-scan", "index-on-the-date-only", "bitmap-on-the-date-only"],
)
def test_a_whole_table_read_per_client_is_named(inner: dict) -> None:
    assert per_client_full_scans(_loop(inner), "snapshot_eligible", "el.client_id") == ["payments"]


def test_joins_that_are_not_loops_over_the_clients_pass() -> None:
    hash_join = {
        "Node Type": "Hash Join",
        "Plans": [
            {"Node Type": "Seq Scan", "Relation Name": "product_events"},
            {"Node Type": "Hash", "Plans": [OUTER]},
        ],
    }
    assert per_client_full_scans(hash_join, "snapshot_eligible", "el.client_id") == []


def test_the_extract_stops_on_a_warehouse_without_the_per_client_index(tmp_path: Path, settings: Settings) -> None:
    """PostgreSQL only: SQLite runs the join-and-group SQL, which loops over no client."""
    engine, url, drop = new_warehouse("postgresql", tmp_path)
    try:
        write_bank(engine, generate(TINY_BANK))
        settings = replace(settings, warehouse_url=url)
        extract_snapshot(engine, R, settings)  # the synthetic bank has its indexes
        run(engine, "DROP INDEX ix_payments_client_date")
        with pytest.raises(DataContractError, match=r"would read all of payments once per eligible client"):
            extract_snapshot(engine, R, settings)
    finally:
        drop()
