"""Model packages: a folder with ``model.cbm``, ``manifest.json`` and ``reference.json``.

The manifest records what a person needs to trust and reproduce the model: the feature
spec, training months, parameters, retro metrics, library versions, a fingerprint of the
training data and the sha256 of the model file. Loading verifies the checksum and the
spec and refuses, with the difference spelled out, on any mismatch. ``reference.json``
holds binned distributions of the score and the main features for drift monitoring (PSI).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import platform
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from catboost import CatBoostClassifier

from rko_model.errors import PackageError
from rko_model.model.checksums import sha256_of, verify_checksums, write_checksums
from rko_model.model.prepare import model_matrix
from rko_model.model.spec import FeatureSpec
from rko_model.model.train import TrainedModel, predict_matrix
from rko_model.storage.atomic import staged_folder

log = logging.getLogger(__name__)

MODEL_FILE = "model.cbm"
MANIFEST_FILE = "manifest.json"
REFERENCE_FILE = "reference.json"
#: 2: the manifest records which model is packaged, its retro months and its refit months.
FORMAT_VERSION = 2
_LIBRARIES = ("catboost", "pandas", "numpy", "scikit-learn", "sqlalchemy", "pyarrow")


@dataclass(frozen=True)
class ModelPackage:
    """A loaded, verified package."""

    path: Path
    model: CatBoostClassifier
    spec: FeatureSpec
    manifest: dict[str, Any]
    reference: dict[str, Any]

    @property
    def version(self) -> str:
        return str(self.manifest["version"])

    def score(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated probability of opening RKO within the horizon, one per row."""
        return self.score_matrix(self.matrix(frame))

    def matrix(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The model matrix of ``frame``'s rows (what :meth:`score_matrix` scores; the score step keeps some of
        its rows for reasons)."""
        missing = [c for c in self.spec.features if c not in frame.columns]
        if missing:
            raise PackageError(
                f"model package {self.version} needs features the data lacks: {missing}; the package was trained "
                "on other columns: retrain it, or score with the code version it was made for"
            )
        return model_matrix(frame, self.spec)

    def score_matrix(self, matrix: pd.DataFrame) -> np.ndarray:
        """:meth:`score` of rows already made a model matrix (:meth:`matrix`)."""
        return predict_matrix(self.model, matrix, self.spec)


def data_fingerprint(frame: pd.DataFrame, spec: FeatureSpec) -> str:
    """sha256 over the training rows (key, date, target and features), independent of row order."""
    columns = [spec.id_column, spec.date_column, spec.target, *spec.features]
    ordered = frame[columns].sort_values([spec.date_column, spec.id_column], kind="stable")
    hashes = pd.util.hash_pandas_object(ordered, index=False).to_numpy()
    digest = hashlib.sha256(hashes.tobytes())
    digest.update(json.dumps([len(ordered), columns]).encode())
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def _bins(values: np.ndarray, bins: int) -> dict[str, Any]:
    """Quantile edges of ``values`` and the share of values per bin (missing values in a bin of their own)."""
    finite = values[np.isfinite(values)]
    if len(finite) == 0:
        edges: list[float] = []
    else:
        edges = sorted(set(np.quantile(finite, np.linspace(0, 1, bins + 1))[1:-1].round(10).tolist()))
    return {"edges": edges, "shares": bin_shares(values, edges)}


def bin_counts(values: np.ndarray, edges: list[float]) -> list[int]:
    """Counts of ``values`` in the bins cut at ``edges``, then the count of missing values.

    Counts of parts (chunks, partitions) add up to the counts of the whole.
    """
    values = np.asarray(values, dtype=float)
    missing = ~np.isfinite(values)
    counts = np.bincount(np.searchsorted(edges, values[~missing], side="right"), minlength=len(edges) + 1)
    return [*counts.tolist(), int(missing.sum())]


def bin_shares(values: np.ndarray, edges: list[float]) -> list[float]:
    """Shares of ``values`` in the bins cut at ``edges``, then the share of missing values."""
    return shares_of(bin_counts(values, edges))


def shares_of(counts: list[int]) -> list[float]:
    total = max(sum(counts), 1)
    return [c / total for c in counts]


def reference_distributions(
    frame: pd.DataFrame, scores: np.ndarray, model: TrainedModel, top: int = 10, bins: int = 10
) -> dict[str, Any]:
    """Binned score and top-feature distributions of the training data, for PSI later.

    Also the values of each categorical feature seen in training, so that scoring can report
    the share of values the model never saw (CatBoost scores them, as an unknown category).
    """
    importance = pd.Series(model.model.get_feature_importance(), index=model.model.feature_names_)
    numeric = [c for c in importance.sort_values(ascending=False).index if c in model.spec.numeric][:top]
    return {
        "rows": len(frame),
        "score": _bins(np.asarray(scores, dtype=float), bins),
        "features": {c: _bins(frame[c].to_numpy(dtype=float), bins) for c in numeric},
        "categories": {c: sorted(str(v) for v in frame[c].dropna().unique()) for c in model.spec.categorical},
    }


def save_package(
    trained: TrainedModel,
    folder: Path,
    *,
    version: str,
    training_months: list[str],
    retro: dict[str, Any],
    fingerprint: str,
    reference: dict[str, Any],
    provenance: dict[str, Any],
) -> Path:
    """Write the package into ``folder`` (which must not exist) atomically: all files or none."""
    if folder.exists():
        raise PackageError(f"model package {folder} already exists; versions are never overwritten")
    with staged_folder(folder) as staging:
        trained.model.save_model(str(staging / MODEL_FILE))
        manifest = {
            "format_version": FORMAT_VERSION,
            "version": version,
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "feature_spec": trained.spec.to_dict(),
            "training_months": training_months,
            "early_stopping_months": list(trained.eval_dates),
            "best_iteration": trained.best_iteration,
            "params": trained.params.to_dict(),
            "retro": retro,
            **check_provenance(provenance, training_months, folder),
            "training": trained.summary(),
            "libraries": library_versions(),
            "data_fingerprint": fingerprint,
            "model_sha256": sha256_of(staging / MODEL_FILE),
        }
        (staging / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
        (staging / REFERENCE_FILE).write_text(json.dumps(reference, indent=1), encoding="utf-8")
        write_checksums(staging)  # last: it covers every file written above
    log.info("model package %s written to %s", version, folder)
    return folder


def read_reference(folder: Path, label: str | None = None) -> dict[str, Any]:
    """A package's reference distributions alone: drift needs them, not the model (its checksums are verified).

    ``label`` names the package in errors (see :func:`load_package`).
    """
    name_of = label or str(folder)
    verify_checksums(folder, name_of)
    try:
        return json.loads((folder / REFERENCE_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PackageError(f"model package {name_of}: unreadable {REFERENCE_FILE} ({exc})") from exc


def load_package(folder: Path, expected_spec: FeatureSpec | None = None, label: str | None = None) -> ModelPackage:
    """Load and verify a package: files present, checksum intact, feature spec as expected.

    ``label`` names the package in errors: its URL in the registry when ``folder`` is this
    machine's cached copy (:mod:`rko_model.model.package_cache`).
    """
    name_of = label or str(folder)
    missing = [f for f in (MODEL_FILE, MANIFEST_FILE, REFERENCE_FILE) if not (folder / f).is_file()]
    if missing:
        raise PackageError(f"model package {name_of} lacks {', '.join(missing)}")
    verify_checksums(folder, name_of)
    try:
        manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
        spec = FeatureSpec.from_dict(manifest["feature_spec"])
        expected_sha = manifest["model_sha256"]
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise PackageError(f"model package {name_of}: unreadable {MANIFEST_FILE} ({exc})") from exc
    try:
        reference = json.loads((folder / REFERENCE_FILE).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PackageError(f"model package {name_of}: unreadable {REFERENCE_FILE} ({exc})") from exc
    actual_sha = sha256_of(folder / MODEL_FILE)
    if actual_sha != expected_sha:
        raise PackageError(
            f"model package {name_of}: {MODEL_FILE} checksum {actual_sha[:12]}… does not match the manifest's "
            f"{expected_sha[:12]}…; the file was altered or replaced: restore the package from its source, "
            "or retrain and promote another"
        )
    if expected_spec is not None and expected_spec != spec:
        raise PackageError(
            f"model package {name_of}: feature spec differs from the expected one: "
            f"{_spec_difference(expected_spec, spec)}"
        )
    check_provenance(manifest, manifest.get("training_months"), name_of)
    model = CatBoostClassifier()
    model.load_model(str(folder / MODEL_FILE))
    if list(model.feature_names_) != list(spec.features):
        in_model, in_spec = set(model.feature_names_), set(spec.features)
        raise PackageError(
            f"model package {name_of}: the model's features do not match its manifest's feature spec "
            f"(spec only: {sorted(in_spec - in_model)}, model only: {sorted(in_model - in_spec)}); the manifest "
            "was edited or belongs to another model: restore the package from its source or retrain"
        )
    return ModelPackage(path=folder, model=model, spec=spec, manifest=manifest, reference=reference)


#: What a package holds: the recipe refit on the latest labelled months, or the retro-tested model (audit).
PACKAGED = ("refit", "retro")


def provenance(packaged: str, retro_train: list[str], retro_test: list[str], refit_months: list[str]) -> dict[str, Any]:
    """The manifest's record of which months the recipe was tested on and which the package was fit on."""
    return {
        "packaged": packaged,
        "retro_months": {"train": list(retro_train), "test": list(retro_test)},
        "refit_months": list(refit_months),
    }


def check_provenance(manifest: dict[str, Any], training_months: Any, folder: Path | str) -> dict[str, Any]:
    """Refuse a package whose retro and refit months are missing or do not fit together.

    The retro months (train, then test out of time) say how the recipe was validated; the
    refit months say what the packaged model was fit on; ``training_months`` must be the
    refit months for a refit package, the retro training months for the retro-tested one.
    """

    def refuse(why: str) -> PackageError:
        return PackageError(
            f"model package {folder}: {why}; a package must record its retro months and its refit months: "
            "retrain it with `rko train`"
        )

    try:
        packaged = manifest["packaged"]
        retro_train = [dt.date.fromisoformat(m) for m in manifest["retro_months"]["train"]]
        retro_test = [dt.date.fromisoformat(m) for m in manifest["retro_months"]["test"]]
        refit = [dt.date.fromisoformat(m) for m in manifest["refit_months"]]
        trained_on = [dt.date.fromisoformat(m) for m in training_months or []]
    except (KeyError, TypeError, ValueError) as exc:
        raise refuse(f"no readable retro or refit months ({exc!r})") from exc
    if packaged not in PACKAGED:
        raise refuse(f"'packaged' is {packaged!r}, expected one of {PACKAGED}")
    if not retro_train or not retro_test or not refit:
        raise refuse("empty retro or refit months")
    if max(retro_train) >= min(retro_test):
        raise refuse("retro test months do not come after the retro training months")
    expected = refit if packaged == "refit" else retro_train
    if trained_on != expected:
        raise refuse(f"training months {training_months} are not the {packaged} months it claims")
    return {k: manifest[k] for k in ("packaged", "retro_months", "refit_months")}


def _spec_difference(expected: FeatureSpec, actual: FeatureSpec) -> str:
    parts = []
    for role in ("id_column", "date_column", "target", "numeric", "categorical", "text"):
        want, got = getattr(expected, role), getattr(actual, role)
        if want == got:
            continue
        if isinstance(want, tuple):
            extra, lacking = sorted(set(got) - set(want)), sorted(set(want) - set(got))
            detail = f"package has extra {extra}" if extra else ""
            detail += ("; " if detail and lacking else "") + (f"package lacks {lacking}" if lacking else "")
            parts.append(f"{role}: {detail or 'same columns in another order'}")
        else:
            parts.append(f"{role}: expected {want!r}, package has {got!r}")
    return ", ".join(parts)
