"""The fault corpus, run through the real `rko` command line on both engines.

Every case must end in exactly one error line on stderr naming the cause (no traceback),
the declared exit code, and, where it stands for a DAG step, the task's declared fate; and it
must leave the earlier published list byte-identical, no run recorded as published, the
registry unchanged and no ``.partial`` file behind.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from rko_model.settings import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "plugins"))  # the DAGs' helpers, as Airflow loads them
# Imported now, not inside a test: Airflow's logging setup must not keep a test's captured stderr.
from airflow.sdk.exceptions import AirflowFailException
from rko_airflow.context import fail_fast

from rko_model.cli import main
from rko_model.settings import Settings
from rko_model.synth.generator import generate
from rko_model.synth.spec import BankSpec
from rko_model.warehouse.bank_writer import write_bank
from rko_model.warehouse.query import read_frame
from rko_model.warehouse.staging import make_staging_engine, published_by, read_runs
from tests.bad_input.cases import REPORT_DATE, build_bench
from tests.conftest import ENGINES, POSTGRES_URL, new_warehouse
from tests.faults.corpus import CASES, CLASSES, FaultCase, Stage, counts, environment, markdown_table
from tests.helpers import registry_folder, reset_postgres_staging

BANK = BankSpec(n_clients=700, n_months=16, seed=12)
DOC = PROJECT_ROOT / "docs" / "bad_input.md"


@pytest.fixture(scope="module", params=ENGINES)
def stage(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stage]:
    folder = tmp_path_factory.mktemp(f"faults-{request.param}")
    engine, url, drop = new_warehouse(request.param, folder)
    write_bank(engine, generate(BANK))
    if request.param == "postgresql":
        reset_postgres_staging(POSTGRES_URL)
    settings = Settings.from_env({"RKO_DATA_DIR": str(folder / "data"), "RKO_WAREHOUSE_URL": url})
    if request.param == "sqlite":
        settings = replace(settings, staging_url=f"sqlite:///{folder / 'data' / 'mo_staging.db'}")
    env = {
        "RKO_DATA_DIR": str(settings.data_dir),
        "RKO_WAREHOUSE_URL": settings.warehouse_url,
        "RKO_STAGING_URL": settings.staging_url,
        "RKO_REGISTRY_DIR": settings.registry_url,
        "RKO_RUNS_DIR": settings.runs_url,
    }
    try:
        bench = build_bench(request.param, engine, settings, folder)
        yield Stage(request.param, engine, bench.settings, folder, env)
    finally:
        engine.dispose()
        drop()


def _list_digest(settings: Settings) -> str:
    """sha256 of the month's published rows, every column (load time included), in rank order."""
    staging = make_staging_engine(settings.staging_url)
    try:
        rows = read_frame(
            staging,
            "SELECT * FROM mo_staging.rko_propensity WHERE report_date = :report_date ORDER BY rank",
            {"report_date": REPORT_DATE},
        )
        runs = read_runs(staging)
        publisher = published_by(staging, REPORT_DATE)
    finally:
        staging.dispose()
    assert len(rows) > 100
    published = runs[runs["status"] == "published"][["run_id", "report_date", "rows_published"]]
    published = published.astype({"rows_published": "Int64"})  # float once another run's row holds a NULL
    return hashlib.sha256(
        rows.to_csv(index=False).encode() + published.to_csv(index=False).encode() + str(publisher).encode()
    ).hexdigest()


def _tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _partials(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*.partial")]


@pytest.mark.parametrize("case", CASES, ids=[c.name.replace(" ", "-") for c in CASES])
def test_a_fault_ends_in_one_line_and_leaves_everything_as_it_was(
    stage: Stage, case: FaultCase, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    if not case.runs_on(stage.kind):
        pytest.skip(f"{case.name}: {', '.join(case.engines)} only")
    list_before = _list_digest(stage.settings)
    capsys.readouterr()
    with case.breaks(stage) as trial:
        registry_before = _tree_digest(registry_folder(stage.settings))  # as the case left it: the run changes nothing
        for key in [k for k in os.environ if k.startswith("RKO_") and k != "RKO_TEST_POSTGRES_URL"]:
            monkeypatch.delenv(key)
        env = environment(stage.env, trial.env)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        handlers = list(logging.getLogger().handlers)
        try:
            code = main(trial.argv)
        except SystemExit as exc:  # argparse
            code = exc.code
        finally:  # the CLI's logging setup writes to this test's captured stderr: not to the next test's
            for handler in [h for h in logging.getLogger().handlers if h not in handlers]:
                logging.getLogger().removeHandler(handler)
        err = capsys.readouterr().err
        registry_after = _tree_digest(registry_folder(stage.settings))
        if trial.step is not None:
            _assert_task_fate(case, trial.step, env)
        monkeypatch.undo()
    assert "Traceback" not in err, err
    errors = [line for line in err.splitlines() if re.match(r"^rko(: | \w+: )error:", line)]
    assert len(errors) == 1, err
    assert re.search(case.match, errors[0]), errors[0]
    assert code == case.exit_code, (code, errors[0])
    assert _list_digest(stage.settings) == list_before, "the earlier published list changed"
    assert registry_after == registry_before, "the registry changed"
    assert not _partials(stage.folder), _partials(stage.folder)


def _assert_task_fate(case: FaultCase, step, env: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    """The DAG step under the tasks' fail_fast: a permanent fault fails at once, a transient one is retried."""
    logging.getLogger("rko_model").debug("DAG step of %s", case.name)
    with pytest.raises(Exception) as caught, fail_fast():
        step(Settings.from_env(env))
    if case.exit_code == 2:
        assert isinstance(caught.value, AirflowFailException), repr(caught.value)
        assert "\n" not in str(caught.value) and re.search(case.match, str(caught.value)), str(caught.value)
    else:
        assert not isinstance(caught.value, AirflowFailException), repr(caught.value)


def test_the_corpus_covers_every_class_and_is_documented() -> None:
    assert len(CASES) >= 40
    assert all(counts()[kind] >= 3 for kind in CLASSES if kind != "process"), counts()
    assert counts()["process"] >= 3
    doc = DOC.read_text(encoding="utf-8")
    assert markdown_table() in doc, "docs/bad_input.md: paste tests.faults.corpus.markdown_table()"
