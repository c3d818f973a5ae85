"""Bad input ends in a clear error or a documented warning, on both engines, through the real monthly steps.

On an error nothing reaches the staging table: the month's earlier list survives unchanged.
On a warning the month is published, and the warning is in the log and in the run metrics.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from rko_model import errors
from rko_model.settings import PROJECT_ROOT, Settings
from rko_model.synth.generator import generate
from rko_model.synth.spec import BankSpec
from rko_model.warehouse.bank_writer import write_bank
from rko_model.warehouse.staging import make_staging_engine, read_published, read_runs
from tests.bad_input.cases import CASES, REPORT_DATE, Bench, Case, build_bench
from tests.conftest import ENGINES, POSTGRES_URL, new_warehouse
from tests.helpers import reset_postgres_staging

BANK = BankSpec(n_clients=900, n_months=16, seed=11)
DOC = PROJECT_ROOT / "docs" / "bad_input.md"


@pytest.fixture(scope="module", params=ENGINES)
def bench(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bench]:
    folder = tmp_path_factory.mktemp(f"bad-input-{request.param}")
    engine, url, drop = new_warehouse(request.param, folder)
    write_bank(engine, generate(BANK))
    if request.param == "postgresql":
        reset_postgres_staging(POSTGRES_URL)
    settings = Settings.from_env({"RKO_DATA_DIR": str(folder / "data"), "RKO_WAREHOUSE_URL": url})
    if request.param == "sqlite":
        settings = replace(settings, staging_url=f"sqlite:///{folder / 'data' / 'mo_staging.db'}")
    try:
        yield build_bench(request.param, engine, settings, folder)
    finally:
        engine.dispose()
        drop()


@pytest.mark.parametrize("case", CASES, ids=[c.name.replace(" ", "-") for c in CASES])
def test_bad_input_ends_in_a_clear_error_or_a_documented_warning(
    bench: Bench, case: Case, caplog: pytest.LogCaptureFixture
) -> None:
    staging = make_staging_engine(bench.settings.staging_url)
    before = read_published(staging, REPORT_DATE)
    assert len(before) > 100
    run_id = f"case-{case.name.replace(' ', '-')}"
    with caplog.at_level(logging.INFO), case.breaks(bench) as settings:
        if case.error is not None:
            with pytest.raises(case.error) as caught:
                case.runner(settings, run_id)
            assert re.search(case.match, str(caught.value), flags=re.S), str(caught.value)
        else:
            case.runner(settings, run_id)
            if case.check:
                case.check(bench, settings, run_id)
    runs = read_runs(staging)
    mine = runs[runs["run_id"] == run_id]
    if case.error is not None:
        pd.testing.assert_frame_equal(before, read_published(staging, REPORT_DATE))  # the earlier list survives
        expected = ["failed_validation"] if case.error is errors.ValidationError else []
        assert mine["status"].tolist() == expected
    else:
        assert mine["status"].tolist() == ["published"]
        assert set(read_published(staging, REPORT_DATE)["run_id"]) == {run_id}
        warnings = json.loads(mine.iloc[0]["details"])["warnings"]
        assert any(re.search(case.match, w) for w in warnings), warnings
        logged = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any(re.search(case.match, m) for m in logged), logged
        if case.warned_by == "validation":
            assert mine.iloc[0]["validation_warnings"] >= 1
    staging.dispose()


def test_every_case_is_an_rko_error_or_a_warning_and_documented() -> None:
    doc = DOC.read_text(encoding="utf-8")
    table = doc[doc.index("| case |") :].split("\n\n", 1)[0]  # the first table: case, what is broken, outcome
    rows = re.findall(r"^\| ([^|]+?) \| [^|]+ \| ([^|]+?) \|", table, flags=re.M)
    documented = {name.strip(): outcome for name, outcome in rows if name.strip() not in ("case", "---")}
    assert set(documented) == {c.name for c in CASES}
    assert len(CASES) >= 15
    for case in CASES:
        if case.error is None:
            assert "warning" in documented[case.name], case.name
            continue
        assert issubclass(case.error, errors.RkoError)
        assert case.error.__name__ in errors.__doc__, f"{case.error.__name__} is not documented in errors.py"
        assert case.error.__name__ in documented[case.name], case.name


def test_the_readme_links_the_table() -> None:
    assert "docs/bad_input.md" in (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert Path(DOC).is_file()
