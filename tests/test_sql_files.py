"""Static checks of sql/: portable files, bound parameters only, no peeking at the truth table."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pandas as pd
from sqlalchemy.engine import Engine

from rko_model.settings import PROJECT_ROOT, Settings
from rko_model.stages.snapshot import extract_snapshot
from rko_model.warehouse.engine import SUPPORTED_DIALECTS
from tests.conftest import new_warehouse
from tests.helpers import run

SQL_DIR = PROJECT_ROOT / "sql"
FILES = sorted(SQL_DIR.rglob("*.sql"))


def _body(path: Path) -> str:
    """The SQL without its comments."""
    return "\n".join(line.split("--", 1)[0] for line in path.read_text(encoding="utf-8").splitlines())


def test_there_are_sql_files() -> None:
    assert len(FILES) >= 9


def test_no_feature_or_label_sql_reads_the_truth_table() -> None:
    readers = [p.relative_to(SQL_DIR).as_posix() for p in FILES if "synthetic_truth" in _body(p).lower()]
    assert readers == ["evaluation/truth.sql"]  # the ceiling Gini, computed by evaluation code only
    readers = [p.relative_to(SQL_DIR).as_posix() for p in FILES if "synthetic_hazard" in _body(p).lower()]
    assert readers == ["evaluation/hazard.sql"]  # the oracle ceiling, computed by evaluation code only


def test_comments_hold_no_bind_markers() -> None:
    """SQLAlchemy's text() would take ``:name`` in a comment for a parameter."""
    for path in FILES:
        for line in path.read_text(encoding="utf-8").splitlines():
            if "--" in line:
                assert not re.search(r"(?<![:\w]):\w", line.split("--", 1)[1]), (path, line)


#: PostgreSQL-only files: what they do (partitions, roles) has no SQLite counterpart.
POSTGRES_ONLY = {
    "staging/publish_functions": "functions that swap a month's list partition; SQLite deletes and inserts",
    "roles/roles": "database roles and grants; SQLite has none",
}


def test_dialect_files_come_in_complete_sets() -> None:
    """A query split per dialect has a file for every supported dialect (or a common fallback)."""
    for path in FILES:
        parts = path.name.split(".")
        if f"{path.parent.relative_to(SQL_DIR).as_posix()}/{parts[0]}" in POSTGRES_ONLY:
            assert parts[1:] == ["postgresql", "sql"], path
            continue
        if len(parts) == 3:
            stem, dialect, _ = parts
            assert dialect in SUPPORTED_DIALECTS, path
            siblings = {d for d in SUPPORTED_DIALECTS if (path.parent / f"{stem}.{d}.sql").exists()}
            assert siblings == set(SUPPORTED_DIALECTS) or (path.parent / f"{stem}.sql").exists(), path


def test_no_literal_dates_or_formatting_in_sql() -> None:
    """Dates are bound parameters computed in Python; no engine-specific date functions."""
    for path in FILES:
        body = _body(path)
        assert not re.search(r"'\d{4}-\d{2}-\d{2}'", body), path
        assert not re.search(r"\b(now|current_date|date_trunc|strftime|julianday|interval)\b", body, re.I), path
        assert "{" not in body and "%(" not in body, path


def test_snapshot_works_without_the_truth_table(tmp_path: Path, settings: Settings) -> None:
    """Dropping synthetic_truth and synthetic_hazard changes nothing: the feature SQL cannot be reading it."""
    from rko_model.synth.generator import generate
    from rko_model.synth.spec import BankSpec
    from rko_model.warehouse.bank_writer import write_bank

    engine: Engine
    engine, url, drop = new_warehouse("sqlite", tmp_path)
    try:
        write_bank(engine, generate(BankSpec(n_clients=300, n_months=14, seed=9)))
        local = replace(settings, warehouse_url=url)
        before = extract_snapshot(engine, "2026-09-30", local)
        run(engine, "DROP TABLE synthetic_truth")
        run(engine, "DROP TABLE synthetic_hazard")
        pd.testing.assert_frame_equal(before, extract_snapshot(engine, "2026-09-30", local))
    finally:
        drop()


def test_the_features_mart_sql_is_what_its_generator_writes() -> None:
    """The wide features SQL (60 window columns) comes from schema.FEATURE_MEASURES via scripts/features_sql.py."""
    import importlib.util

    path = Path(__file__).parents[1] / "scripts" / "features_sql.py"
    spec = importlib.util.spec_from_file_location("features_sql", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, render in module.FILES.items():
        written = (Path(__file__).parents[1] / "sql" / name).read_text(encoding="utf-8")
        assert written == render(), f"sql/{name} differs from scripts/features_sql.py: run it"
