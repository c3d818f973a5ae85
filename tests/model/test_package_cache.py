"""The registry in the artefact store, seen by two workers that share only the store (``file://`` here).

Each worker has its own local data folder (its own root for local files, and its package cache);
the registry is under the shared artefact root. A package added through one worker is promoted
and loaded through the other; a damaged package in the store is one PackageError for both; a
worker's cache never serves a damaged or partly written copy.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from rko_model.errors import PackageError
from rko_model.model.registry import Registry
from rko_model.model.train import TrainedModel, train
from rko_model.settings import Settings
from rko_model.storage import artifacts
from tests.model.test_package_and_registry import _save
from tests.model.test_train import FAST, _other_product

VERSION = "20260101T000000Z"


@pytest.fixture(scope="module")
def trained() -> tuple[TrainedModel, object]:
    frame, spec = _other_product(2000)
    return train(frame, spec, FAST), frame


@pytest.fixture
def workers(tmp_path: Path) -> tuple[Settings, Settings, Path]:
    """Settings of worker A and worker B: their own data folders, one shared artefact root."""
    shared = tmp_path / "shared-store"
    a, b = (
        Settings.from_env({"RKO_DATA_DIR": str(tmp_path / name / "data"), "RKO_ARTIFACT_URL": shared.as_uri()})
        for name in ("worker-a", "worker-b")
    )
    return a, b, shared


def _build(model, frame, tmp_path: Path, version: str = VERSION, mean: float = 0.5) -> Path:  # type: ignore[no-untyped-def]
    return _save(model, frame, tmp_path / "build" / version, version, mean=mean)


def _cached(settings: Settings) -> list[str]:
    folder = settings.package_cache_dir
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_a_package_added_on_one_worker_is_promoted_and_loaded_on_the_other(trained, workers, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    model, frame = trained
    a, b, shared = workers
    assert a.registry_url == b.registry_url == f"{shared.as_uri()}/registry"  # under the artefact root by default
    assert a.runs_url == f"{shared.as_uri()}/runs" and a.package_cache_dir != b.package_cache_dir

    url = Registry.of(a).add(_build(model, frame, tmp_path))
    assert url == (shared / "registry" / "packages" / VERSION).as_uri()
    decision = Registry.of(b).promote(VERSION)  # B has never seen the package: it copies and verifies it
    assert decision.promoted
    for worker in (a, b):  # the pointer and the decisions are in the store: both see them
        registry = Registry.of(worker)
        assert registry.champion_version() == VERSION and [d["challenger"] for d in registry.decisions()] == [VERSION]
    package = Registry.of(b).champion()
    assert np.allclose(package.score(frame), model.predict(frame))
    assert package.path.parent == b.package_cache_dir and package.path.name.startswith(f"{VERSION}-")
    assert _cached(a) == []  # B loaded from its own copy; nothing was put on A's disk
    assert Registry.of(a).reference(VERSION) == package.reference
    assert _cached(a) == _cached(b)  # the same package, the same key, on each worker's own disk
    assert not [p for p in (tmp_path / "worker-a" / "data").rglob("*") if p.is_file() and "cache" not in p.parts]
    assert sorted(p.name for p in (shared / "registry").iterdir()) == ["champion.json", "decisions", "packages"]
    with pytest.raises(PackageError, match="already exists; versions are never overwritten"):
        Registry.of(b).add(_build(model, frame, tmp_path / "again"))


@pytest.mark.parametrize(
    ("damage", "match"),
    [
        ("truncate model.cbm", r"model\.cbm checksum .* does not match the recorded"),
        ("edit manifest.json", r"manifest\.json checksum .* does not match the recorded"),
        ("remove checksums.json", r"has no checksums\.json"),
        ("add extra.json", r"holds files its checksums do not list: \['extra\.json'\]"),
        ("remove reference.json", r"lacks reference\.json"),
    ],
)
def test_a_damaged_package_in_the_store_is_one_package_error_on_every_worker(  # type: ignore[no-untyped-def]
    trained, workers, tmp_path: Path, damage: str, match: str
) -> None:
    """Worker A has a good copy cached before the damage, worker B none: both refuse, naming the store's package."""
    model, frame = trained
    a, b, shared = workers
    Registry.of(a).add(_build(model, frame, tmp_path))
    Registry.of(a).load(VERSION)
    folder = shared / "registry" / "packages" / VERSION
    action, name = damage.split(" ")
    if action == "truncate":
        (folder / name).write_bytes((folder / name).read_bytes()[:1000])
    elif action == "edit":
        text = (folder / name).read_text()
        (folder / name).write_text(text.replace('"gini_mean": 0.5', '"gini_mean": 0.95'))
    elif action == "remove":
        (folder / name).unlink()
    else:
        (folder / name).write_text("{}")
    for worker in (a, b):
        with pytest.raises(PackageError, match=match) as caught:
            Registry.of(worker).load(VERSION)
        assert str(caught.value).startswith(f"model package {folder.as_uri()}") and not caught.value.transient
    assert _cached(b) == []  # nothing of a damaged package is cached
    assert not [p for p in b.package_cache_dir.parent.rglob("*") if p.is_file()]


def test_the_cache_never_serves_a_damaged_or_partial_copy(trained, workers, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    model, frame = trained
    a, b, _ = workers
    Registry.of(a).add(_build(model, frame, tmp_path))
    registry = Registry.of(b)

    real_download = artifacts.download

    def killed(uri: str, names: list[str], folder: Path) -> None:  # the fetch dies after the first file
        real_download(uri, names[:1], folder)
        raise OSError("connection reset by peer")

    monkeypatch.setattr(artifacts, "download", killed)
    with pytest.raises(OSError, match="connection reset"):
        registry.load(VERSION)
    assert not list(b.package_cache_dir.iterdir())  # neither a copy nor the temporary folder is left
    monkeypatch.setattr(artifacts, "download", real_download)

    package = registry.load(VERSION)
    copy = package.path
    model_file = copy / "model.cbm"
    data = bytearray(model_file.read_bytes())
    data[len(data) // 2] ^= 0xFF  # the same length: only the checksum sees it
    model_file.write_bytes(bytes(data))
    again = registry.load(VERSION)  # the damaged copy is fetched anew, not served
    assert again.path == copy and np.allclose(again.score(frame), model.predict(frame))
    assert model_file.read_bytes() != bytes(data)

    (copy / "reference.json").unlink()  # a copy missing a file (as a partial one would) is fetched anew too
    assert registry.load(VERSION).reference == package.reference
    hidden = b.package_cache_dir / f".{VERSION}-leftover"  # a fetch killed with the machine: ignored, never used
    hidden.mkdir()
    (hidden / "model.cbm").write_bytes(b"half")
    assert registry.load(VERSION).path == copy and _cached(b) == sorted([copy.name, hidden.name])


def test_the_same_version_name_in_two_registries_never_meets_the_other_package(trained, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The cache is keyed by the version and the package's checksums: one cache folder serves both registries."""
    model, frame = trained
    cache = tmp_path / "cache"
    first, second = Registry(tmp_path / "one", cache), Registry(tmp_path / "two", cache)
    first.add(_build(model, frame, tmp_path / "b1", mean=0.5))
    second.add(_build(model, frame, tmp_path / "b2", mean=0.7))
    assert first.load(VERSION).manifest["retro"]["gini_mean"] == 0.5
    assert second.load(VERSION).manifest["retro"]["gini_mean"] == 0.7
    assert first.load(VERSION).manifest["retro"]["gini_mean"] == 0.5
    assert len(list(cache.iterdir())) == 2


def test_registry_and_runs_overrides_and_their_checks(tmp_path: Path) -> None:
    """RKO_REGISTRY_DIR / RKO_RUNS_DIR: a URL, or a plain path (a local folder); a file or a bad URL is refused."""
    from rko_model.errors import ConfigError

    data = str(tmp_path / "data")
    plain = Settings.from_env({"RKO_DATA_DIR": data, "RKO_REGISTRY_DIR": str(tmp_path / "reg"), "RKO_RUNS_DIR": "r"})
    assert plain.registry_url == (tmp_path / "reg").as_uri() and plain.runs_url == (Path.cwd() / "r").as_uri()
    url = Settings.from_env({"RKO_DATA_DIR": data, "RKO_REGISTRY_DIR": "memory://models/registry"})
    assert url.registry_url == "memory://models/registry" and url.runs_url == f"{url.artifact_url}/runs"
    assert replace(url, registry_url=str(tmp_path / "x")).registry_url == (tmp_path / "x").as_uri()
    (tmp_path / "a-file").write_text("")
    with pytest.raises(ConfigError, match=r"RKO_RUNS_DIR: .* is a file, not a folder"):
        Settings.from_env({"RKO_DATA_DIR": data, "RKO_RUNS_DIR": str(tmp_path / "a-file")})
    with pytest.raises(ConfigError, match="RKO_REGISTRY_DIR: no fsspec filesystem for 'nope'"):
        Settings.from_env({"RKO_DATA_DIR": data, "RKO_REGISTRY_DIR": "nope://bucket/registry"})


def test_a_registry_on_another_store_than_files(trained, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """fsspec's in-memory store stands for an object store: no local path, no folder rename, checksums last."""
    model, frame = trained
    root = f"memory://rko-test-{tmp_path.name}/registry"
    registry = Registry(root, tmp_path / "cache")
    url = registry.add(_build(model, frame, tmp_path))
    assert artifacts.local_path(url) is None and registry.versions() == [VERSION]
    assert registry.promote(VERSION).promoted and registry.champion().version == VERSION
    assert json.loads(artifacts.read_bytes(f"{root}/champion.json"))["version"] == VERSION
    artifacts.write_bytes(b"{}", f"{url}/extra.json")
    with pytest.raises(PackageError, match=r"holds files its checksums do not list"):
        registry.load(VERSION)
    shutil.rmtree(tmp_path / "cache")


def test_a_same_length_rewrite_in_the_store_is_refused_by_a_worker_without_a_copy(  # type: ignore[no-untyped-def]
    trained, workers, tmp_path: Path
) -> None:
    """As documented in package_cache: a worker holding a verified copy keeps scoring with the original bytes."""
    model, frame = trained
    a, b, shared = workers
    Registry.of(a).add(_build(model, frame, tmp_path))
    original = Registry.of(a).load(VERSION)
    model_file = shared / "registry" / "packages" / VERSION / "model.cbm"
    data = bytearray(model_file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model_file.write_bytes(bytes(data))
    assert Registry.of(a).load(VERSION).path == original.path  # the verified copy, never the rewritten bytes
    with pytest.raises(PackageError, match=r"model\.cbm checksum .* does not match the recorded"):
        Registry.of(b).load(VERSION)


def test_a_package_replaced_in_the_store_during_a_fetch_is_never_cached_under_the_other_ones_name(  # type: ignore[no-untyped-def]
    trained, workers, tmp_path: Path, monkeypatch
) -> None:
    """The copy is named after the checksums it was verified against, and used only while they are the store's."""
    model, frame = trained
    a, b, shared = workers
    Registry.of(a).add(_build(model, frame, tmp_path / "first", mean=0.5))
    folder = shared / "registry" / "packages" / VERSION
    original, other = tmp_path / "original", _build(model, frame, tmp_path / "other", mean=0.7)
    shutil.copytree(folder, original)

    def replaced_meanwhile(uri: str, names: list[str], into: Path) -> None:  # restored from another backup
        shutil.rmtree(folder)
        shutil.copytree(other, folder)
        real_download(uri, names, into)

    real_download = artifacts.download
    monkeypatch.setattr(artifacts, "download", replaced_meanwhile)
    assert Registry.of(b).load(VERSION).manifest["retro"]["gini_mean"] == 0.7  # what was fetched and verified
    monkeypatch.setattr(artifacts, "download", real_download)
    shutil.rmtree(folder)
    shutil.copytree(original, folder)  # the first package is back: its own bytes are loaded, not the other's
    assert Registry.of(b).load(VERSION).manifest["retro"]["gini_mean"] == 0.5
    assert len(_cached(b)) == 2
