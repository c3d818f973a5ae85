"""The locked install: direct pins, a complete hashed lock, an environment that is the lock, a clean tree."""

from __future__ import annotations

import ast
import importlib.metadata
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from rko_model.settings import PROJECT_ROOT
from tests.lockfile import DIRECT, LOCK, canonical, direct_pins, locked

#: Folders whose imports the install must cover: the library, the Airflow side, tests, bench.
SOURCES = ("rko_model", "dags", "plugins", "tests", "bench", "scripts")


def test_every_direct_pin_is_locked_at_its_version() -> None:
    lock = locked()
    for name, version in direct_pins().items():
        assert name in lock, f"{name} is pinned in {DIRECT.name} but missing from the lock: run `make lock`"
        assert lock[name].version == version, f"{name}: {DIRECT.name} pins {version}, the lock has {lock[name].version}"


def test_every_locked_package_is_pinned_with_hashes() -> None:
    lock = locked()
    assert len(lock) > len(direct_pins()), "the lock holds the transitive packages too"
    for name, entry in lock.items():
        assert entry.hashes and all(h.startswith("sha256:") and len(h) == 71 for h in entry.hashes), name


def test_the_environment_is_the_lock() -> None:
    """Every locked package is installed at its locked version (the venv was installed from the lock)."""
    wrong = {}
    for name, entry in locked().items():
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed = None
        if installed != entry.version:
            wrong[name] = (entry.version, installed)
    assert not wrong, f"locked vs installed (rebuild the venv with `make venv`): {wrong}"


def test_pip_check_passes() -> None:
    proc = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _imported_modules() -> set[str]:
    names = set()
    for folder in SOURCES:
        for path in (PROJECT_ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names.add(node.module.split(".")[0])
    return names


def _local_modules() -> set[str]:
    local = set()
    for folder in SOURCES:
        local.add(folder)
        for path in (PROJECT_ROOT / folder).rglob("*"):
            if path.suffix == ".py" or (path.is_dir() and (path / "__init__.py").exists()):
                local.add(path.stem)
    return local


def test_every_directly_imported_package_is_pinned() -> None:
    """matplotlib, jinja2, pendulum, ...: nothing the code imports arrives unpinned through another package."""
    third_party = _imported_modules() - set(sys.stdlib_module_names) - _local_modules() - {"__future__"}
    distributions = importlib.metadata.packages_distributions()
    pins = direct_pins()
    unpinned = {}
    for module in sorted(third_party):
        owners = {canonical(d) for d in distributions.get(module, [])}
        assert owners, f"{module} is imported but no installed distribution provides it"
        if not owners & pins.keys():
            unpinned[module] = sorted(owners)
    assert not unpinned, f"imported directly but not pinned in {DIRECT.name}: {unpinned}"


def test_the_lock_names_its_tool() -> None:
    head = LOCK.read_text(encoding="utf-8").splitlines()[:3]
    assert any("uv" in line for line in head) and any("make lock" in line for line in head)


def test_no_catboost_training_logs_are_committed() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "catboost_info"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False
    )
    if tracked.returncode != 0:
        pytest.skip(f"not a git checkout: {tracked.stderr.strip()}")
    assert tracked.stdout == ""
    assert "catboost_info/" in (PROJECT_ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize("writing", [False, True])
def test_training_writes_no_logs_into_the_working_folder(
    writing: bool, tmp_path: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even with CatBoost's files turned on through ``extra``, they go to a temporary folder, not ./catboost_info."""
    from rko_model.model.spec import FeatureSpec
    from rko_model.model.train import TrainParams, train

    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(1)
    n = 600
    x = rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "id": np.arange(n),
            "as_of": pd.to_datetime(rng.choice(["2025-01-31", "2025-02-28"], size=n)),
            "x": x,
            "y": (rng.random(n) < 1 / (1 + np.exp(-2 * x))).astype(int),
        }
    )
    spec = FeatureSpec("id", "as_of", "y", numeric=("x",), name="tiny")
    params = TrainParams(iterations=20, depth=2, extra={"allow_writing_files": True} if writing else {})
    train(frame, spec, params)
    assert not (tmp_path / "catboost_info").exists()
    assert list(tmp_path.iterdir()) == []
