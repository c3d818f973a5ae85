from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from rko_model.errors import PackageError
from rko_model.model.checksums import write_checksums
from rko_model.model.package import (
    MODEL_FILE,
    bin_shares,
    data_fingerprint,
    load_package,
    provenance,
    read_reference,
    reference_distributions,
    save_package,
)
from rko_model.model.registry import Registry, decide
from rko_model.model.train import TrainedModel, train
from tests.model.test_train import FAST, _other_product


@pytest.fixture(scope="module")
def trained() -> tuple[TrainedModel, object]:
    frame, spec = _other_product(2000)
    return train(frame, spec, FAST), frame


def _save(model: TrainedModel, frame, folder: Path, version: str, mean: float = 0.5, std: float = 0.02) -> Path:  # type: ignore[no-untyped-def]
    return save_package(
        model,
        folder,
        version=version,
        training_months=["2025-01-31"],
        retro={"gini_mean": mean, "gini_std": std},
        fingerprint=data_fingerprint(frame, model.spec),
        reference=reference_distributions(frame, model.predict(frame), model),
        provenance=provenance("refit", ["2024-06-30", "2024-07-31"], ["2024-10-31"], ["2025-01-31"]),
    )


def _add(registry: Registry, model: TrainedModel, frame, version: str, mean: float = 0.5, std: float = 0.02) -> str:  # type: ignore[no-untyped-def]
    """Write a package in a local build folder and add it to ``registry``; its URL."""
    build = Path(tempfile.mkdtemp(prefix="rko-test-build-"))
    try:
        return registry.add(_save(model, frame, build / version, version, mean, std))
    finally:
        shutil.rmtree(build, ignore_errors=True)


def test_package_round_trip_scores_the_same(trained, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    model, frame = trained
    folder = _save(model, frame, tmp_path / "v1", "v1")
    package = load_package(folder, expected_spec=model.spec)
    assert np.allclose(package.score(frame), model.predict(frame))
    manifest = package.manifest
    assert manifest["feature_spec"]["text"] == ["notes"]
    assert set(manifest["libraries"]) >= {"catboost", "pandas", "numpy", "python"}
    assert len(manifest["model_sha256"]) == 64 and len(manifest["data_fingerprint"]) == 64
    assert sum(package.reference["score"]["shares"]) == pytest.approx(1.0)
    assert "income" in package.reference["features"]
    with pytest.raises(PackageError, match="already exists"):
        _save(model, frame, folder, "v1")


def test_fingerprint_ignores_row_order_but_not_values(trained) -> None:  # type: ignore[no-untyped-def]
    model, frame = trained
    shuffled = frame.sample(frac=1.0, random_state=3)
    assert data_fingerprint(shuffled, model.spec) == data_fingerprint(frame, model.spec)
    changed = frame.assign(age=frame["age"] + 1)
    assert data_fingerprint(changed, model.spec) != data_fingerprint(frame, model.spec)


def test_tampered_or_mismatched_packages_are_refused(trained, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    model, frame = trained
    folder = _save(model, frame, tmp_path / "v1", "v1")
    other_spec = replace(model.spec, numeric=("age",))
    with pytest.raises(PackageError, match=r"numeric: package has extra \['income'\]"):
        load_package(folder, expected_spec=other_spec)
    with (folder / MODEL_FILE).open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(PackageError, match="checksum"):
        load_package(folder)
    (folder / "reference.json").unlink()
    with pytest.raises(PackageError, match=r"lacks reference\.json"):
        load_package(folder)


def test_bin_shares_put_missing_values_last() -> None:
    shares = bin_shares(np.array([0.0, 1.0, 2.0, np.nan]), [0.5, 1.5])
    assert shares == [0.25, 0.25, 0.25, 0.25]


def test_promotion_rule() -> None:
    champ = {"gini_mean": 0.50, "gini_std": 0.02}
    assert decide({"gini_mean": 0.40, "gini_std": 0.01}, None, 0.01)[0]
    assert decide({"gini_mean": 0.52, "gini_std": 0.025}, champ, 0.01)[0]
    promoted, reason = decide({"gini_mean": 0.49, "gini_std": 0.01}, champ, 0.01)
    assert not promoted and "not above" in reason
    promoted, reason = decide({"gini_mean": 0.55, "gini_std": 0.04}, champ, 0.01)
    assert not promoted and "beyond the tolerance" in reason


def test_registry_records_every_decision(trained, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    model, frame = trained
    registry = Registry(tmp_path / "registry", tmp_path / "cache")
    with pytest.raises(PackageError, match="no champion yet"):
        registry.champion()
    _add(registry, model, frame, "20260101T000000Z", mean=0.50)
    _add(registry, model, frame, "20260201T000000Z", mean=0.48)
    _add(registry, model, frame, "20260301T000000Z", mean=0.53)
    assert registry.promote("20260101T000000Z").promoted
    refused = registry.promote("20260201T000000Z")
    assert not refused.promoted and refused.champion_before == "20260101T000000Z"
    assert registry.champion_version() == "20260101T000000Z"
    assert registry.promote("20260301T000000Z").promoted
    assert registry.champion().version == "20260301T000000Z"
    decisions = registry.decisions()
    assert [d["promoted"] for d in decisions] == [True, False, True]
    assert decisions[1]["challenger_gini_mean"] == 0.48 and decisions[1]["champion_gini_mean"] == 0.50
    assert json.loads((tmp_path / "registry" / "champion.json").read_text())["version"] == "20260301T000000Z"
    with pytest.raises(PackageError, match="no model package 'nope'"):
        registry.promote("nope")


def test_the_latest_complete_package_skips_one_still_being_added(trained, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A package without its checksums (written last on an object store) is not "the latest" to promote."""
    model, frame = trained
    registry = Registry(tmp_path / "registry", tmp_path / "cache")
    assert registry.latest_complete() is None
    _add(registry, model, frame, "20260101T000000Z")
    _add(registry, model, frame, "20260201T000000Z")
    assert registry.latest_complete() == "20260201T000000Z"
    (tmp_path / "registry" / "packages" / "20260201T000000Z" / "checksums.json").unlink()  # caught halfway
    assert registry.versions()[-1] == "20260201T000000Z" and registry.latest_complete() == "20260101T000000Z"


def test_every_file_of_a_package_is_checksummed(trained, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Any file, including the manifest and files a later version adds, is covered: changed, removed or added."""
    model, frame = trained
    folder = _save(model, frame, tmp_path / "pkg", "v1")
    listed = json.loads((folder / "checksums.json").read_text())["sha256"]
    assert set(listed) == {"model.cbm", "manifest.json", "reference.json"}
    load_package(folder)
    manifest = folder / "manifest.json"
    original = manifest.read_bytes()
    manifest.write_bytes(original.replace(b'"gini_std": 0.02', b'"gini_std": 0.0001'))  # a better std written in
    with pytest.raises(PackageError, match=r"manifest\.json checksum .* does not match the recorded"):
        load_package(folder)
    manifest.write_bytes(original)
    (folder / "notes.txt").write_text("added later")
    with pytest.raises(PackageError, match=r"holds files its checksums do not list: \['notes\.txt'\]"):
        load_package(folder)
    (folder / "notes.txt").unlink()
    (folder / "reference.json").write_text("{")
    with pytest.raises(PackageError, match=r"reference\.json checksum"):  # named as itself, not as the manifest
        read_reference(folder)


def test_a_damaged_champion_pointer_is_one_permanent_package_error(trained, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    model, frame = trained
    registry = Registry(tmp_path / "registry", tmp_path / "cache")
    _add(registry, model, frame, "v1")
    assert registry.promote("v1").promoted
    pointer = tmp_path / "registry" / "champion.json"
    for damage in (pointer.read_bytes()[:10], b"", b"[1, 2]", b'{"version": 7}', b"\xff\xfe"):
        pointer.write_bytes(damage)
        with pytest.raises(PackageError, match=r"the champion pointer .*champion\.json is damaged") as caught:
            registry.champion_version()
        assert not caught.value.transient  # the DAG does not retry it
    assert not list((tmp_path / "registry").glob("*.partial"))


def test_a_store_that_does_not_answer_is_not_a_damaged_champion_pointer(monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """s3fs reports a failing bucket (a 500, a 503) as an OSError: left to the task's retries, not 'damaged'."""
    import errno

    from rko_model.runs.faults import describe
    from rko_model.storage import artifacts

    registry = Registry(tmp_path / "registry", tmp_path / "cache")
    artifacts.write_text('{"version": "v1"}', f"{registry.root}/champion.json")
    unanswered = OSError(errno.EIO, "We encountered an internal error. Please try again.")

    def failing(uri: str) -> bytes:
        raise unanswered

    monkeypatch.setattr(artifacts, "read_bytes", failing)
    with pytest.raises(OSError) as caught:
        registry.champion_version()
    assert caught.value is unanswered and describe(caught.value) is None  # not a permanent fault


def test_each_decision_is_a_file_of_its_own_and_earlier_logs_are_still_read(trained, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """No append on an object store: a decision is a new file; decisions.jsonl of earlier releases is read first."""
    model, frame = trained
    registry = Registry(tmp_path / "registry", tmp_path / "cache")
    _add(registry, model, frame, "v1", mean=0.5)
    _add(registry, model, frame, "v2", mean=0.6)
    legacy = {"decided_at": "2025-01-01T00:00:00+00:00", "challenger": "v0", "promoted": True}
    (tmp_path / "registry" / "decisions.jsonl").write_text(json.dumps(legacy) + "\n")
    assert registry.promote("v1").promoted and registry.promote("v2").promoted
    assert not registry.promote("v2").promoted  # already the champion: refused, and recorded
    files = sorted((tmp_path / "registry" / "decisions").iterdir())
    assert [json.loads(f.read_text())["challenger"] for f in files] == ["v1", "v2", "v2"]
    assert [d["challenger"] for d in registry.decisions()] == ["v0", "v1", "v2", "v2"]
    assert (tmp_path / "registry" / "decisions.jsonl").read_text() == json.dumps(legacy) + "\n"  # never rewritten
    files[1].write_text('{"challenger": "v2", "promo')  # a damaged decision is named; the others are intact
    with pytest.raises(PackageError, match=rf"{files[1].name} is damaged .* the other decisions are intact"):
        registry.decisions()
    files[1].unlink()
    (tmp_path / "registry" / "decisions.jsonl").write_text("{\n")
    with pytest.raises(PackageError, match=r"line 1 of .*decisions\.jsonl is damaged"):
        registry.decisions()


@pytest.mark.parametrize("tolerance", [float("nan"), float("inf"), -0.01, "abc", None])
def test_promotion_arguments_are_validated(trained, tmp_path: Path, tolerance: object) -> None:  # type: ignore[no-untyped-def]
    """A tolerance that is not a finite number >= 0 is refused before anything is decided or written."""
    from rko_model.errors import InvalidInputError

    model, frame = trained
    registry = Registry(tmp_path / "registry", tmp_path / "cache")
    _add(registry, model, frame, "v1", mean=0.5, std=0.0145)
    _add(registry, model, frame, "v2", mean=0.6, std=0.40)
    assert registry.promote("v1").promoted
    before = registry.decisions()
    with pytest.raises(InvalidInputError, match="std tolerance"):
        registry.promote("v2", tolerance=tolerance)  # type: ignore[arg-type]
    assert registry.champion_version() == "v1" and registry.decisions() == before


def test_non_finite_retro_figures_are_refused(trained, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    model, frame = trained
    registry = Registry(tmp_path / "registry", tmp_path / "cache")
    _add(registry, model, frame, "v1", mean=float("nan"))
    with pytest.raises(PackageError, match=r"retro figures .* are not finite"):
        registry.promote("v1")
    assert registry.champion_version() is None


def test_the_package_carries_its_refit_and_retro_months_and_loading_checks_both(trained, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    model, frame = trained
    folder = _save(model, frame, tmp_path / "v1", "v1")
    manifest = load_package(folder).manifest
    assert manifest["packaged"] == "refit" and manifest["refit_months"] == manifest["training_months"]
    assert manifest["retro_months"] == {"train": ["2024-06-30", "2024-07-31"], "test": ["2024-10-31"]}
    assert manifest["training"]["refit_on_all_rows"] and manifest["training"]["validation"] == "time"

    def tampered(name: str, change) -> Path:  # type: ignore[no-untyped-def]
        copy = tmp_path / name
        shutil.copytree(folder, copy)
        data = json.loads((copy / "manifest.json").read_text())
        change(data)
        (copy / "manifest.json").write_text(json.dumps(data))
        write_checksums(copy)  # a consistent forgery: the checksums alone would not catch it
        return copy

    cases = {
        "no-refit": lambda m: m.pop("refit_months"),
        "no-retro": lambda m: m.pop("retro_months"),
        "empty-retro-test": lambda m: m["retro_months"].update(test=[]),
        "retro-not-out-of-time": lambda m: m["retro_months"].update(test=["2024-01-31"]),
        "trained-on-other-months": lambda m: m.update(refit_months=["2025-02-28"]),
        "unknown-kind": lambda m: m.update(packaged="latest"),
    }
    for name, change in cases.items():
        with pytest.raises(PackageError, match="retro months and its refit months"):
            load_package(tampered(name, change))
    audit = save_package(
        model,
        tmp_path / "audit",
        version="audit",
        training_months=["2024-06-30", "2024-07-31"],
        retro={"gini_mean": 0.5, "gini_std": 0.02},
        fingerprint=data_fingerprint(frame, model.spec),
        reference=reference_distributions(frame, model.predict(frame), model),
        provenance=provenance("retro", ["2024-06-30", "2024-07-31"], ["2024-10-31"], ["2025-01-31"]),
    )
    assert load_package(audit).manifest["packaged"] == "retro"  # the retro-tested model: its own months
    with pytest.raises(PackageError, match="training months"):
        save_package(
            model,
            tmp_path / "wrong",
            version="wrong",
            training_months=["2025-01-31"],
            retro={"gini_mean": 0.5, "gini_std": 0.02},
            fingerprint="x",
            reference={},
            provenance=provenance("retro", ["2024-06-30"], ["2024-10-31"], ["2025-01-31"]),
        )
