"""Banks and labelled frames of the model benches, generated once and cached.

Each bank is an SQLite warehouse ``<data>/bench_model/bank_<clients>_<seed>.db``; its labelled
monthly snapshots (every month a training run needs: retro training and test months, the
refit and walk-forward months), the point-in-time truth and the oracle are cached beside it
as Parquet, so that reruns and the other benches do not rebuild them.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDER = Path(os.environ.get("RKO_BENCH_MODEL_DIR", ROOT / "data" / "bench_model"))
#: A PostgreSQL database for the banks (one schema each); unset: SQLite files under FOLDER.
PG_URL = os.environ.get("RKO_BENCH_MODEL_URL")
log = logging.getLogger(__name__)


@contextmanager
def _locked(name: str) -> Iterator[None]:
    """One process at a time builds a bank or its frames (the benches may run side by side)."""
    FOLDER.mkdir(parents=True, exist_ok=True)
    with (FOLDER / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def bank(clients: int, seed: int, months: int = 36) -> str:
    """URL of the bank (PostgreSQL schema or SQLite file), generated when missing (a marker says it is complete)."""
    from rko_model.synth.generator import generate
    from rko_model.synth.spec import BankSpec
    from rko_model.warehouse.bank_writer import write_bank
    from rko_model.warehouse.engine import make_engine

    name = f"bank_{clients}_{seed}_{months}"
    path = FOLDER / f"{name}.db"
    if PG_URL:
        from _common import schema_url

        url = schema_url(PG_URL, f"rko_{name}")
    else:
        url = f"sqlite:///{path}"
    done = FOLDER / f"{name}.{'pg.' if PG_URL else ''}done"
    with _locked(name):
        if not done.exists():
            log.info("generating bank %d clients x %d months, seed %d", clients, months, seed)
            if not PG_URL:
                path.unlink(missing_ok=True)
            write_bank(make_engine(url), generate(BankSpec(n_clients=clients, n_months=months, seed=seed)))
            done.write_text("ok")
    return url


def frames(clients: int, seed: int, months: int = 36, n_train: int = 12, n_test: int = 6) -> dict:
    """Cached labelled frames of a bank: all months, plan, truth and oracle of the test months."""
    import json

    import pandas as pd

    url = bank(clients, seed, months)
    cache = FOLDER / f"frames_{clients}_{seed}_{months}_{n_train}_{n_test}"
    with _locked(cache.name):
        if not (cache / "plan.json").exists():
            _build_frames(url, cache, n_train, n_test)
    return {
        "url": url,
        "plan": json.loads((cache / "plan.json").read_text()),
        "all": pd.read_parquet(cache / "all.parquet"),
        "truth": pd.read_parquet(cache / "truth.parquet"),
        "oracle": pd.read_parquet(cache / "oracle.parquet"),
    }


def _build_frames(url: str, cache: Path, n_train: int, n_test: int) -> None:
    import json

    from rko_model.model.dataset import load_oracle, load_truth, plan_from_warehouse
    from rko_model.runs.training import refit_months, stacked_months
    from rko_model.settings import Settings
    from rko_model.warehouse.engine import make_engine

    settings = Settings.from_env({"RKO_WAREHOUSE_URL": url})
    engine = make_engine(url)
    plan = plan_from_warehouse(engine, settings, n_train=n_train, n_test=n_test)
    refit = refit_months(plan.test_months, n_train)
    stacked = stacked_months(engine, settings, plan.train_months, plan.test_months, refit, True, n_train)
    cache.mkdir(parents=True, exist_ok=True)
    stacked.all.to_parquet(cache / "all.parquet")
    load_truth(engine, plan.test_months, settings).to_parquet(cache / "truth.parquet")
    load_oracle(engine, plan.test_months, settings).to_parquet(cache / "oracle.parquet")
    (cache / "plan.json").write_text(json.dumps({**plan.to_dict(), "refit_months": [m.isoformat() for m in refit]}))


def months_of(frame, months):  # type: ignore[no-untyped-def]
    """Rows of ``frame`` whose report date is one of ``months`` (ISO strings)."""
    import pandas as pd

    dates = pd.to_datetime(frame["report_date"]).dt.strftime("%Y-%m-%d")
    return frame[dates.isin(months).to_numpy()].reset_index(drop=True)


def sampled(data: dict, share: float) -> dict:
    """``data`` (from :func:`frames`) for a stable ``share`` of the bank's clients: a smaller bank, same process.

    The bench uses it when the machine is too loaded for the full banks; the share is reported.
    """
    if share >= 1.0:
        return data

    def keep(frame):  # type: ignore[no-untyped-def]
        return frame[(frame["client_id"] * 2654435761 % 1000) < share * 1000].reset_index(drop=True)

    return {**data, "all": keep(data["all"]), "truth": keep(data["truth"]), "oracle": keep(data["oracle"])}
