"""A file registry of model packages with one champion and any number of challengers.

Layout under the registry folder::

    packages/<version>/     model packages (never overwritten)
    champion.json           which version scores the monthly list
    decisions.jsonl         every promotion decision with its figures, appended

A challenger is promoted only when its mean retro Gini is higher than the champion's and
the standard deviation of its monthly Gini is not worse beyond a set tolerance.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rko_model.atomic import write_text
from rko_model.errors import InvalidInputError, PackageError
from rko_model.model.package import ModelPackage, load_package, read_reference

log = logging.getLogger(__name__)

DEFAULT_STD_TOLERANCE = 0.01
CHAMPION_FILE = "champion.json"
DECISIONS_FILE = "decisions.jsonl"


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
    """One decision of :meth:`Registry.promote`, as recorded in ``decisions.jsonl``."""

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
    """Packages, the champion pointer and the decision log in one folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.packages = root / "packages"

    def path_for(self, version: str) -> Path:
        return self.packages / version

    def versions(self) -> list[str]:
        """Package versions, oldest first (versions sort by creation time)."""
        if not self.packages.is_dir():
            return []
        return sorted(p.name for p in self.packages.iterdir() if p.is_dir() and not p.name.startswith("."))

    def load(self, version: str) -> ModelPackage:
        return load_package(self._existing(version))

    def reference(self, version: str) -> dict[str, Any]:
        """A package's reference distributions, without loading its model (scoring verified it already)."""
        return read_reference(self._existing(version))

    def _existing(self, version: str) -> Path:
        if version not in self.versions():
            raise PackageError(f"no model package {version!r} in {self.packages}; known: {self.versions()}")
        return self.path_for(version)

    def champion_version(self) -> str | None:
        """The champion's version; a PackageError (permanent) when ``champion.json`` is damaged."""
        pointer = self.root / CHAMPION_FILE
        if not pointer.is_file():
            return None
        try:
            version = json.loads(pointer.read_text(encoding="utf-8"))["version"]
            if not isinstance(version, str) or not version:
                raise ValueError(f"version {version!r} is not a package version")
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise PackageError(
                f"the champion pointer {pointer} is damaged ({type(exc).__name__}: {exc}); restore it, or "
                f"promote a package again with `rko promote --version <version>` ({DECISIONS_FILE} lists the past ones)"
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
        """Every recorded decision, oldest first; a damaged line is a PackageError naming it."""
        log_file = self.root / DECISIONS_FILE
        if not log_file.is_file():
            return []
        decisions = []
        for number, line in enumerate(log_file.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                decision = json.loads(line)
                if not isinstance(decision, dict):
                    raise ValueError("not a JSON object")
            except ValueError as exc:
                raise PackageError(
                    f"line {number} of {log_file} is damaged ({exc}); the other decisions are intact: repair or "
                    "remove that line"
                ) from exc
            decisions.append(decision)
        return decisions

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
        decision = PromotionDecision(
            decided_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
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
        self._append_decision(asdict(decision))
        if promoted:
            payload = {"version": version, "promoted_at": decision.decided_at}
            write_text(self.root / CHAMPION_FILE, json.dumps(payload, indent=2))
        log.info("promotion of %s: %s (%s)", version, "promoted" if promoted else "refused", reason)
        return decision

    def _append_decision(self, decision: dict[str, Any]) -> None:
        """Append one decision by rewriting the log whole (atomic); a damaged last line keeps its own line."""
        log_file = self.root / DECISIONS_FILE
        earlier = log_file.read_bytes() if log_file.is_file() else b""
        if earlier and not earlier.endswith(b"\n"):
            log.warning("the last line of %s is damaged (no line end); the new decision goes on its own line", log_file)
            earlier += b"\n"
        write_text(log_file, earlier.decode("utf-8", errors="replace") + json.dumps(decision) + "\n")
