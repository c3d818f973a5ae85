"""The model registry: packages, one champion and the promotion decisions, in the artefact store.

Layout under the registry's URL (``Settings.registry_url``: ``<artifact root>/registry`` unless
``RKO_REGISTRY_DIR`` says otherwise; ``file://`` or ``s3://`` through fsspec, like
:mod:`rko_model.storage.artifacts`)::

    packages/<version>/                        model packages (never overwritten)
    champion.json                              which version scores the monthly list
    decisions/<time>-<random>-<version>.json   one promotion decision with its figures per file
    decisions.jsonl                            decisions of earlier releases (read, never written again)

A challenger is promoted only when its mean retro Gini is higher than the champion's and
the standard deviation of its monthly Gini is not worse beyond a set tolerance.

Workers share no disk: a package is loaded from this machine's verified copy
(:mod:`rko_model.model.package_cache`), because CatBoost reads a model from a local file.
The champion pointer is one small file replaced atomically (the last promotion wins, as
before). Each decision is a file of its own, named by its time to the microsecond and a random
part: an object store cannot append, and rewriting one log would need a lock across machines,
whereas a new file per decision never loses a concurrent promotion's record and never rewrites
history.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import shutil
import tempfile
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rko_model.errors import InvalidInputError, PackageError
from rko_model.model.checksums import CHECKSUM_FILE, verify_checksums
from rko_model.model.package import MANIFEST_FILE, ModelPackage, load_package, read_reference, save_package
from rko_model.model.package_cache import local_copy
from rko_model.storage import artifacts
from rko_model.storage.atomic import staged_folder

if TYPE_CHECKING:
    from rko_model.model.train import TrainedModel
    from rko_model.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_STD_TOLERANCE = 0.01
CHAMPION_FILE = "champion.json"
DECISIONS_FOLDER = "decisions"
#: The single log of decisions that earlier releases appended to: still read, never written.
LEGACY_DECISIONS_FILE = "decisions.jsonl"


def check_tolerance(tolerance: object) -> float:
    """The promotion's std tolerance: a finite number of at least 0, else an InvalidInputError."""
    try:
        value = float(tolerance)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidInputError(f"the std tolerance {tolerance!r} is not a number: give e.g. 0.01") from None
    if not math.isfinite(value) or value < 0:
        raise InvalidInputError(f"the std tolerance {tolerance!r} must be a finite number of at least 0, e.g. 0.01")
    return value


def _retro_figures(version: str, retro: object) -> dict[str, float]:
    """A package's ``gini_mean`` and ``gini_std``, finite, or a PackageError naming the package."""
    try:
        figures = {k: float(retro[k]) for k in ("gini_mean", "gini_std")}  # type: ignore[index]
    except (TypeError, KeyError, ValueError) as exc:
        raise PackageError(f"model package {version}: its manifest lacks retro gini_mean/gini_std ({exc})") from exc
    if not all(math.isfinite(v) for v in figures.values()) or figures["gini_std"] < 0:
        raise PackageError(f"model package {version}: retro figures {figures} are not finite: retrain it")
    return figures


@dataclass(frozen=True)
class PromotionDecision:
    """One decision of :meth:`Registry.promote`, as recorded in its file under ``decisions/``."""

    decided_at: str
    challenger: str
    champion_before: str | None
    promoted: bool
    reason: str
    challenger_gini_mean: float
    challenger_gini_std: float
    champion_gini_mean: float | None
    champion_gini_std: float | None
    std_tolerance: float


def decide(challenger: dict[str, float], champion: dict[str, float] | None, tolerance: float) -> tuple[bool, str]:
    """The promotion rule on retro figures (``gini_mean``, ``gini_std``)."""
    if champion is None:
        return True, "no champion yet"
    if challenger["gini_mean"] <= champion["gini_mean"]:
        return False, (
            f"mean retro Gini {challenger['gini_mean']:.4f} is not above the champion's {champion['gini_mean']:.4f}"
        )
    if challenger["gini_std"] > champion["gini_std"] + tolerance:
        return False, (
            f"monthly Gini std {challenger['gini_std']:.4f} is worse than the champion's "
            f"{champion['gini_std']:.4f} beyond the tolerance {tolerance}"
        )
    return True, (
        f"mean retro Gini {challenger['gini_mean']:.4f} > {champion['gini_mean']:.4f} and std "
        f"{challenger['gini_std']:.4f} within {tolerance} of {champion['gini_std']:.4f}"
    )


class Registry:
    """Packages, the champion pointer and the decisions under one URL of the artefact store.

    ``root``: the registry's URL, or a plain path (a local folder). ``cache_dir``: where this
    machine keeps verified copies of the packages it loads (:meth:`of` takes the settings' one,
    ``Settings.package_cache_dir``; no second default, e.g. a shared temporary folder).
    """

    def __init__(self, root: str | Path, cache_dir: Path) -> None:
        self.root = artifacts.to_url(root)
        self.packages = artifacts.join(self.root, "packages")
        self.cache_dir = cache_dir

    @classmethod
    def of(cls, settings: Settings) -> Registry:
        """The registry of ``settings``, with this machine's package cache in its data folder."""
        return cls(settings.registry_url, settings.package_cache_dir)

    def package_url(self, version: str) -> str:
        return artifacts.join(self.packages, version)

    def versions(self) -> list[str]:
        """Package versions, oldest first (versions sort by creation time)."""
        return [name for name in artifacts.folders(self.packages) if not name.startswith(".")]

    def latest_complete(self) -> str | None:
        """The newest version whose ``checksums.json`` is there, or None.

        On an object store a package's files appear one by one and its checksums last, so a
        package being added (or whose add crashed) is listed before it is complete: "the
        latest package" must skip it rather than promote a half-written one.
        """
        for version in reversed(self.versions()):
            if artifacts.exists(artifacts.join(self.package_url(version), CHECKSUM_FILE)):
                return version
        return None

    def add(self, folder: Path) -> str:
        """Publish the package written in the local ``folder`` (:func:`save_package`) under its version; its URL.

        Verified first, so a broken package never reaches the registry; never overwrites a
        version. On a local store the package appears at once (a folder renamed into place);
        on an object store its ``checksums.json`` is written last, and a package caught
        halfway is refused by its checksums until it is complete.
        """
        verify_checksums(folder)
        try:
            version = str(json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))["version"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise PackageError(f"model package {folder}: unreadable {MANIFEST_FILE} ({exc})") from exc
        if not version or "/" in version or "\\" in version or version.startswith("."):
            raise PackageError(f"model package {folder}: version {version!r} cannot name a folder of the registry")
        target = self.package_url(version)
        if version in self.versions() or artifacts.files(target):
            raise PackageError(f"model package {target} already exists; versions are never overwritten")
        local = artifacts.local_path(target)
        if local is None:
            artifacts.upload(folder, target, last=(CHECKSUM_FILE,))
        else:
            with staged_folder(local) as staging:
                shutil.copytree(folder, staging, dirs_exist_ok=True)
        log.info("model package %s added to %s", version, target)
        return target

    def add_model(self, trained: TrainedModel, *, version: str, **package: Any) -> str:
        """Package ``trained`` (the keywords of :func:`save_package`) and :meth:`add` it; its URL.

        CatBoost writes a model to a local file only: the package is built in a temporary folder
        of this machine, then published to the store, whichever it is.
        """
        with tempfile.TemporaryDirectory(prefix="rko-package-") as build:
            return self.add(save_package(trained, Path(build) / version, version=version, **package))

    def load(self, version: str) -> ModelPackage:
        """The package ``version``, loaded from this machine's verified copy."""
        url = self._existing(version)
        return load_package(local_copy(url, version, self.cache_dir), label=url)

    def reference(self, version: str) -> dict[str, Any]:
        """A package's reference distributions, without loading its model (scoring verified it already)."""
        url = self._existing(version)
        return read_reference(local_copy(url, version, self.cache_dir), label=url)

    def _existing(self, version: str) -> str:
        known = self.versions()
        if version not in known:
            raise PackageError(f"no model package {version!r} in {self.packages}; known: {known}")
        return self.package_url(version)

    def champion_version(self) -> str | None:
        """The champion's version; a PackageError (permanent) when ``champion.json`` is damaged."""
        pointer = artifacts.join(self.root, CHAMPION_FILE)
        if not artifacts.exists(pointer):
            return None
        text = artifacts.read_bytes(pointer)  # a store that does not answer is not a damaged pointer: not caught
        try:
            version = json.loads(text.decode("utf-8"))["version"]
            if not isinstance(version, str) or not version:
                raise ValueError(f"version {version!r} is not a package version")
        except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise PackageError(
                f"the champion pointer {pointer} is damaged ({type(exc).__name__}: {exc}); restore it, or "
                f"promote a package again with `rko promote --version <version>` (the registry's {DECISIONS_FOLDER}/ "
                "lists the past ones)"
            ) from exc
        return version

    def required_champion_version(self) -> str:
        """The champion's version; a clear error when there is none yet."""
        version = self.champion_version()
        if version is None:
            raise PackageError(f"the registry {self.root} has no champion yet: run `rko train` and `rko promote`")
        return version

    def champion(self) -> ModelPackage:
        """The champion package, verified; a clear error when there is none yet."""
        return self.load(self.required_champion_version())

    def decisions(self) -> list[dict]:
        """Every recorded decision, oldest first; a damaged one is a PackageError naming it."""
        return [*self._legacy_decisions(), *self._decision_files()]

    def _legacy_decisions(self) -> list[dict]:
        log_file = artifacts.join(self.root, LEGACY_DECISIONS_FILE)
        if not artifacts.exists(log_file):
            return []
        decisions = []
        text = artifacts.read_bytes(log_file).decode("utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                decisions.append(_decision(line, f"line {number} of {log_file}"))
        return decisions

    def _decision_files(self) -> list[dict]:
        folder = artifacts.join(self.root, DECISIONS_FOLDER)
        names = sorted(n for n in artifacts.files(folder) if n.endswith(".json") and "/" not in n)
        return [
            _decision(artifacts.read_bytes(url).decode("utf-8", errors="replace"), url)
            for url in (artifacts.join(folder, name) for name in names)
        ]

    def promote(self, version: str, tolerance: float = DEFAULT_STD_TOLERANCE) -> PromotionDecision:
        """Apply the promotion rule to ``version`` against the current champion; record the decision."""
        tolerance = check_tolerance(tolerance)
        challenger = self.load(version)
        challenger_retro = _retro_figures(version, challenger.manifest.get("retro"))
        current = self.champion_version()
        champion_retro = None
        if current and current != version:
            champion_retro = _retro_figures(current, self.load(current).manifest.get("retro"))
        if current == version:
            promoted, reason = False, "already the champion"
        else:
            promoted, reason = decide(challenger_retro, champion_retro, tolerance)
        now = dt.datetime.now(dt.UTC)
        decision = PromotionDecision(
            decided_at=now.isoformat(timespec="seconds"),
            challenger=version,
            champion_before=current,
            promoted=promoted,
            reason=reason,
            challenger_gini_mean=challenger_retro["gini_mean"],
            challenger_gini_std=challenger_retro["gini_std"],
            champion_gini_mean=None if champion_retro is None else float(champion_retro["gini_mean"]),
            champion_gini_std=None if champion_retro is None else float(champion_retro["gini_std"]),
            std_tolerance=tolerance,
        )
        name = f"{now:%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:6]}-{version}.json"  # sorts by time; never collides
        artifacts.write_text(json.dumps(asdict(decision)) + "\n", artifacts.join(self.root, DECISIONS_FOLDER, name))
        if promoted:
            payload = {"version": version, "promoted_at": decision.decided_at}
            artifacts.write_text(json.dumps(payload, indent=2), artifacts.join(self.root, CHAMPION_FILE))
        log.info("promotion of %s: %s (%s)", version, "promoted" if promoted else "refused", reason)
        return decision


def _decision(text: str, where: str) -> dict:
    """One recorded decision (a JSON object), or a PackageError naming where it is damaged."""
    try:
        decision = json.loads(text)
        if not isinstance(decision, dict):
            raise ValueError("not a JSON object")
    except ValueError as exc:
        raise PackageError(f"{where} is damaged ({exc}); the other decisions are intact: repair or remove it") from exc
    return decision
