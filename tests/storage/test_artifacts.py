"""The artefact store: atomic writes through fsspec, and monthly steps on workers that share no disk but the store."""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import fsspec
import pandas as pd
import pytest

from rko_model.common.partitions import Partition
from rko_model.errors import ConfigError
from rko_model.runs import monthly
from rko_model.settings import Settings
from rko_model.storage import artifacts
from rko_model.synth.spec import BankSpec
from rko_model.warehouse.staging import make_staging_engine, read_published
from tests.conftest import ENGINES
from tests.helpers import champion_bank

BANK = BankSpec(n_clients=900, n_months=20, seed=17)
MONTH = dt.date(2026, 10, 31)
LIST = ["client_id", "score", "rank", "decile", "model_version"]


def test_parquet_and_csv_round_trip_on_a_file_store(tmp_path: Path) -> None:
    frame = pd.DataFrame({"client_id": [3, 1, 2], "score": [0.5, 0.25, 0.125], "arm": ["model", "rules", None]})
    uri = artifacts.join(tmp_path.as_uri(), "a", "b", "list.parquet")
    assert artifacts.write_parquet(frame, uri) == uri and uri.startswith("file:///")
    pd.testing.assert_frame_equal(artifacts.read_parquet(uri), frame)
    chunks = list(artifacts.iter_parquet(uri, batch_size=2))
    assert [len(c) for c in chunks] == [2, 1]
    artifacts.write_csv(frame, artifacts.join(tmp_path.as_uri(), "a", "list.csv"))
    assert (tmp_path / "a" / "list.csv").read_text(encoding="utf-8").splitlines()[0] == "client_id,score,arm"
    assert artifacts.listing(artifacts.join(tmp_path.as_uri(), "a")) == ["b", "list.csv"]
    assert artifacts.local_path(uri) == tmp_path / "a" / "b" / "list.parquet"


def test_only_text_columns_are_dictionary_encoded(tmp_path: Path) -> None:
    """Numbers, dates and flags are written plain (a dictionary of distinct numbers is given up after costing
    a third of the write); codes and texts keep theirs, and every value reads back as written."""
    import pyarrow.parquet as pq

    frame = pd.DataFrame(
        {
            "client_id": [1, 2, 3],
            "turnover": [0.5, 1.5, 0.5],
            "report_date": pd.to_datetime(["2026-10-31"] * 3),
            "flag": [True, False, True],
            "okved_code": ["62.01", "47.11", "62.01"],
            "payment_text": ["оплата", None, "поставка"],
        }
    )
    uri = artifacts.join(tmp_path.as_uri(), "snapshot.parquet")
    artifacts.write_parquet(frame, uri)
    meta = pq.ParquetFile(artifacts.local_path(uri)).metadata.row_group(0)
    encoded = {
        meta.column(i).path_in_schema: "PLAIN_DICTIONARY" in meta.column(i).encodings
        or "RLE_DICTIONARY" in meta.column(i).encodings
        for i in range(meta.num_columns)
    }
    assert encoded == {
        "client_id": False,
        "turnover": False,
        "report_date": False,
        "flag": False,
        "okved_code": True,
        "payment_text": True,
    }
    pd.testing.assert_frame_equal(artifacts.read_parquet(uri), frame)
    numbers = pd.DataFrame({"score": [0.25, 0.5]})  # no text column at all
    artifacts.write_parquet(numbers, uri)
    pd.testing.assert_frame_equal(artifacts.read_parquet(uri), numbers)


@pytest.mark.parametrize("store", ["file", "memory"])
def test_a_failed_write_leaves_the_earlier_file_and_no_partial(store: str, tmp_path: Path) -> None:
    root = tmp_path.as_uri() if store == "file" else f"memory://rko-{uuid.uuid4().hex}"
    uri = artifacts.join(root, "month", "scores.parquet")
    before = pd.DataFrame({"client_id": [1], "score": [0.5]})
    artifacts.write_parquet(before, uri)

    class Broken(pd.DataFrame):
        def to_parquet(self, handle, **kwargs):  # type: ignore[no-untyped-def, override]
            handle.write(b"PAR1 half a file")
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        artifacts.write_parquet(Broken({"client_id": [2], "score": [0.1]}), uri)
    pd.testing.assert_frame_equal(artifacts.read_parquet(uri), before)
    assert artifacts.listing(artifacts.join(root, "month")) == ["scores.parquet"]


def test_two_writers_of_one_small_file_at_once_never_mix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two promotions writing the champion pointer at once: the last one moved into place wins, whole."""
    import os

    from rko_model.storage import atomic

    uri = artifacts.join(tmp_path.as_uri(), "registry", "champion.json")
    first, second = '{"version": "20260101T000000Z", "promoted_at": "2026-01-01"}', '{"version": "v2"}'
    real_fsync, interleaved = os.fsync, []

    def fsync(fd: int) -> None:  # the second writer runs while the first has written but not yet renamed
        real_fsync(fd)
        if not interleaved:
            interleaved.append(True)
            artifacts.write_text(second, uri)

    monkeypatch.setattr(atomic.os, "fsync", fsync)
    artifacts.write_text(first, uri)
    assert (tmp_path / "registry" / "champion.json").read_text(encoding="utf-8") == first
    assert [p.name for p in (tmp_path / "registry").iterdir()] == ["champion.json"]


@pytest.mark.parametrize("store", ["file", "memory"])
def test_chunks_can_be_read_for_some_rows_only(store: str, tmp_path: Path) -> None:
    root = tmp_path.as_uri() if store == "file" else f"memory://rko-{uuid.uuid4().hex}"
    uri = artifacts.join(root, "snapshot.parquet")
    frame = pd.DataFrame({"client_id": range(100, 150), "text": [f"t{i}" for i in range(50)]})
    artifacts.write_parquet(frame, uri, row_group_size=16)
    wanted = [149, 101, 120, 999]
    chunks = list(artifacts.iter_parquet(uri, 16, only=("client_id", wanted)))
    assert len(chunks) == 4  # every chunk is read, only its wanted rows kept
    got = pd.concat(chunks, ignore_index=True)
    assert got["client_id"].tolist() == [101, 120, 149] and got["text"].tolist() == ["t1", "t20", "t49"]
    assert artifacts.parquet_rows(uri) == 50  # from the footer, on any store


def test_a_writer_that_knows_only_paths_uploads_to_a_remote_store() -> None:
    root = f"memory://rko-{uuid.uuid4().hex}/validation"
    with artifacts.local_folder(root) as folder:
        assert artifacts.local_path(root) is None and folder.is_dir()
        (folder / "result.json").write_text('{"ok": true}', encoding="utf-8")
    assert not folder.exists()
    assert artifacts.read_bytes(artifacts.join(root, "result.json")) == b'{"ok": true}'


def test_the_root_is_one_setting_defaulting_to_the_data_folder(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert Settings.from_env({"RKO_DATA_DIR": str(data)}).artifact_url == data.resolve().as_uri()
    shared = Settings.from_env({"RKO_DATA_DIR": str(data), "RKO_ARTIFACT_URL": "memory://shared"})
    assert shared.artifact_url == "memory://shared"
    for bad, message in (("relative/folder", "is not a URL"), ("nosuch://bucket", "no fsspec filesystem")):
        with pytest.raises(ConfigError, match=f"RKO_ARTIFACT_URL: .*{message}"):
            Settings.from_env({"RKO_DATA_DIR": str(data), "RKO_ARTIFACT_URL": bad})


@pytest.fixture(scope="module", params=ENGINES)
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    with champion_bank(request.param, tmp_path_factory.mktemp(f"artifacts-{request.param}"), BANK) as settings:
        yield settings


def _published(settings: Settings) -> pd.DataFrame:
    return read_published(make_staging_engine(settings.staging_url), MONTH)[LIST]


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_workers_with_separate_disks_share_only_the_store(stack: Settings, tmp_path: Path) -> None:
    """Each step of each partition runs on the other worker than the step before: only URIs pass between them."""
    monthly.run_month(stack, MONTH, "single-process")
    single = _published(stack)

    shared = (tmp_path / "shared").as_uri()
    shutil.copytree(
        artifacts.local_path(stack.registry_url), tmp_path / "shared" / "registry"
    )  # the champion, in the store
    a, b = (
        replace(stack, data_dir=tmp_path / name, artifact_url=shared, registry_url=f"{shared}/registry")
        for name in ("worker-a", "worker-b")
    )
    run_id = "two-workers"
    planned = monthly.plan(a, 2)
    workers = [(a, b, a), (b, a, b)]  # extract, validate, score: a different worker at each hand-over
    scored, refs = [], []
    for ref, (extractor, validator, scorer) in zip(planned, workers, strict=True):
        partition = Partition(ref["partition"], ref["partitions"])
        extracted = monthly.extract(extractor, MONTH, run_id, partition)
        validated = monthly.validate(validator, MONTH, run_id, extracted)
        scored.append(monthly.score(scorer, MONTH, run_id, validated, ref["model_version"]))
        refs += [extracted, validated, scored[-1]]
    published = monthly.publish(b, MONTH, run_id, scored, validated=refs[1::3])
    monthly.record(a, MONTH, run_id, extracted=refs[0::3], validated=refs[1::3], scored=scored, published=published)

    uris = [ref[key] for ref in refs for key in ("snapshot_path", "scores_path", "result_path") if ref.get(key)]
    assert len(set(uris)) == 6 and all(uri.startswith(shared + "/monthly/2026-10-31/two-workers/") for uri in uris)
    for worker in ("worker-a", "worker-b"):  # each scored: its disk holds only its verified copy of the champion
        in_cache = [p.relative_to(tmp_path / worker).parts[:2] for p in _files(tmp_path / worker)]
        assert in_cache == [("cache", "packages")] * 4  # the model, manifest, reference and checksums
    assert {p.name for p in _files(tmp_path / "shared" / "monthly")} == {
        "snapshot_p0of2.parquet",
        "snapshot_p1of2.parquet",
        "scores_p0of2.parquet",
        "scores_p1of2.parquet",
        "reasons_p0of2.parquet",  # the score steps' reasons (rko_model.pilot.listing)
        "reasons_p1of2.parquet",
        "validation_2026-10-31.json",
    }
    pd.testing.assert_frame_equal(_published(stack), single)


def test_a_month_runs_on_a_store_that_is_no_disk_at_all(stack: Settings) -> None:
    """With an in-memory fsspec store nothing can fall back to a local path: the month still publishes the same."""
    monthly.run_month(stack, MONTH, "single-process")
    single = _published(stack)
    root = f"memory://rko-{uuid.uuid4().hex}"
    monthly.run_month(replace(stack, artifact_url=root), MONTH, "in-memory", partitions=2)
    pd.testing.assert_frame_equal(_published(stack), single)
    fs = fsspec.filesystem("memory")
    names = {path.rsplit("/", 1)[-1] for path in fs.find(root.removeprefix("memory://"))}
    assert {"snapshot_p0of2.parquet", "scores_p1of2.parquet", "validation_2026-10-31.json"} <= names
