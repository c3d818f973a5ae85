"""The month's list as Parquet + CSV + manifest in the artefact store: complete, idempotent, atomic, on both engines."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rko_model.errors import NotPublishedError
from rko_model.settings import Settings
from rko_model.stages.list_export import CSV, MANIFEST, PARQUET, export_folder, export_month
from rko_model.stages.scoring import rank_scores
from rko_model.storage import artifacts
from rko_model.warehouse.list_columns import PILOT_COLUMN_NAMES
from rko_model.warehouse.staging import make_staging_engine, publish_month, read_published
from tests.conftest import ENGINES, POSTGRES_URL, need_postgres
from tests.helpers import reset_postgres_staging, run

MONTH = dt.date(2026, 10, 31)


@pytest.fixture(params=ENGINES)
def staging(request: pytest.FixtureRequest, settings: Settings) -> Iterator[Settings]:
    if request.param == "postgresql":
        need_postgres()
        reset_postgres_staging(POSTGRES_URL)
        yield replace(settings, staging_url=POSTGRES_URL)
        reset_postgres_staging(POSTGRES_URL)
    else:
        yield settings


def _publish(settings: Settings, seed: int, run_id: str, n: int = 250) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ids = rng.choice(np.arange(1, 10 * n), size=n, replace=False)
    ranked = rank_scores(ids, rng.random(n), MONTH, "v1", run_id)
    publish_month(make_staging_engine(settings.staging_url), ranked, MONTH, settings.sql_dir)
    return read_published(make_staging_engine(settings.staging_url), MONTH)


def _file(settings: Settings, name: str) -> bytes:
    return artifacts.read_bytes(artifacts.join(export_folder(settings, MONTH), name))


def test_the_export_is_the_published_list_with_a_manifest(staging: Settings) -> None:
    published = _publish(staging, seed=1, run_id="run-1")
    ref = export_month(staging, MONTH)
    assert ref["rows"] == len(published) == 250 and ref["run_id"] == "run-1"
    assert artifacts.listing(export_folder(staging, MONTH)) == [MANIFEST, CSV, PARQUET]
    parquet = artifacts.read_parquet(ref["parquet"])
    csv = pd.read_csv(io.BytesIO(_file(staging, CSV)))
    for frame in (parquet, csv):
        assert list(frame.columns) == [
            *("report_date", "client_id", "score", "rank", "decile", "model_version", "run_id"),
            *PILOT_COLUMN_NAMES,  # the pilot's columns of list version 2 come along
        ]
        assert frame["rank"].tolist() == list(range(1, 251))
        assert frame["client_id"].tolist() == published["client_id"].tolist()
        np.testing.assert_allclose(frame["score"].to_numpy(), published["score"].to_numpy())
    assert set(csv["report_date"]) == {"2026-10-31"}
    manifest = json.loads(_file(staging, MANIFEST))
    assert manifest["report_date"] == "2026-10-31" and manifest["rows"] == 250 and manifest["model_version"] == "v1"
    for name in (PARQUET, CSV):
        data = _file(staging, name)
        assert manifest["files"][name] == {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def test_a_rerun_replaces_the_month_in_place(staging: Settings) -> None:
    _publish(staging, seed=1, run_id="run-1")
    export_month(staging, MONTH)
    first = {name: _file(staging, name) for name in (PARQUET, CSV)}
    export_month(staging, MONTH)  # the same list: the same bytes, nothing added
    assert {name: _file(staging, name) for name in (PARQUET, CSV)} == first
    assert artifacts.listing(export_folder(staging, MONTH)) == [MANIFEST, CSV, PARQUET]
    republished = _publish(staging, seed=2, run_id="run-2", n=180)  # the month scored again: the new list
    ref = export_month(staging, MONTH)
    assert ref["rows"] == 180 and ref["run_id"] == "run-2"
    assert artifacts.read_parquet(ref["parquet"])["client_id"].tolist() == republished["client_id"].tolist()
    assert artifacts.listing(export_folder(staging, MONTH)) == [MANIFEST, CSV, PARQUET]


def test_a_failed_export_leaves_no_manifest_and_no_half_file(
    staging: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The importer waits for the manifest: a rewrite that fails half-way leaves none, and every file whole."""
    _publish(staging, seed=1, run_id="run-1")
    export_month(staging, MONTH)
    _publish(staging, seed=2, run_id="run-2", n=180)

    def broken_csv(frame: pd.DataFrame, uri: str) -> str:
        raise OSError("the store went away")

    monkeypatch.setattr(artifacts, "write_csv", broken_csv)
    with pytest.raises(OSError, match="went away"):
        export_month(staging, MONTH)
    folder = export_folder(staging, MONTH)
    assert MANIFEST not in artifacts.listing(folder)
    assert all(".partial" not in name for name in artifacts.listing(folder))
    assert len(artifacts.read_parquet(artifacts.join(folder, PARQUET))) == 180  # the new file, whole
    monkeypatch.undo()
    assert export_month(staging, MONTH)["rows"] == 180  # the retry completes the month
    assert json.loads(_file(staging, MANIFEST))["run_id"] == "run-2"


def test_columns_added_to_the_list_are_exported(staging: Settings) -> None:
    """The pilot arm and reasons (issue 14) or any later column travel without a change here."""
    _publish(staging, seed=1, run_id="run-1")
    engine = make_staging_engine(staging.staging_url)
    run(engine, "ALTER TABLE mo_staging.rko_propensity ADD COLUMN pilot_arm VARCHAR(16) DEFAULT 'model'")
    run(engine, "ALTER TABLE mo_staging.rko_propensity ADD COLUMN reasons VARCHAR(400) DEFAULT 'оборот; платежи'")
    ref = export_month(staging, MONTH)
    for frame in (artifacts.read_parquet(ref["parquet"]), pd.read_csv(io.BytesIO(_file(staging, CSV)))):
        assert frame.columns[-2:].tolist() == ["pilot_arm", "reasons"]
        assert set(frame["pilot_arm"]) == {"model"} and set(frame["reasons"]) == {"оборот; платежи"}
    assert json.loads(_file(staging, MANIFEST))["columns"][-2:] == ["pilot_arm", "reasons"]


def test_an_unpublished_month_is_refused_and_nothing_is_written(staging: Settings, tmp_path: Path) -> None:
    _publish(staging, seed=1, run_id="run-1")
    with pytest.raises(NotPublishedError, match="2026-09-30 has no published list"):
        export_month(staging, "2026-09-30")
    assert artifacts.listing(artifacts.join(staging.artifact_url, "exports", "rko_propensity")) == []
