"""Small helpers shared by the tests."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from rko_model import columns as col
from rko_model.model.registry import Registry
from rko_model.model.train import TrainParams
from rko_model.runs.training import train_and_report
from rko_model.settings import Settings
from rko_model.stages.snapshot import extract_snapshot
from rko_model.synth.generator import generate
from rko_model.synth.spec import BankSpec
from rko_model.warehouse import schema
from rko_model.warehouse.bank_writer import write_bank
from rko_model.warehouse.bulk import bulk_insert
from rko_model.warehouse.query import execute, read_frame


def run(engine: Engine, sql: str, **params: object) -> int:
    with engine.begin() as conn:
        return execute(conn, sql, params)


def insert(engine: Engine, table: str, rows: list[dict[str, object]]) -> None:
    target = schema.metadata.tables[table]
    frame = pd.DataFrame(rows, columns=[c.name for c in target.columns])
    for column in target.columns:
        if column.type.python_type is dt.date:
            frame[column.name] = pd.to_datetime(frame[column.name]).astype("datetime64[s]")
    with engine.begin() as conn:
        bulk_insert(conn, target, frame)


def table(engine: Engine, name: str) -> pd.DataFrame:
    target = schema.metadata.tables[name]
    by_type = {dt.date: "date", str: "str", int: "int", float: "float"}
    kinds = {c.name: by_type[c.type.python_type] for c in target.columns}
    return read_frame(engine, f"SELECT * FROM {name}", {}, kinds)  # type: ignore[arg-type]


def eligible_client(engine: Engine, settings: Settings, report_date: dt.date) -> int:
    """An eligible client with payments and app sessions in the report month."""
    frame = extract_snapshot(engine, report_date, settings)
    active = frame[(frame["pay_out_cnt_1m"] > 0) & (frame["app_sessions_1m"] > 0)]
    return int(active[col.CLIENT_ID].iloc[0])


@contextmanager
def replaced_by_view(engine: Engine, name: str, select: str) -> Iterator[None]:
    """Put a view named ``name`` in place of the table (renamed ``<name>_raw``), as a bank's contract view.

    ``select`` is the view's query over ``{raw}``; the table gets its name back afterwards.
    Test-only DDL: the names are the test's own.
    """
    raw = f"{name}_raw"
    run(engine, f"ALTER TABLE {name} RENAME TO {raw}")
    try:
        run(engine, f"CREATE VIEW {name} AS {select.format(raw=raw)}")
        yield
    finally:
        run(engine, f"DROP VIEW IF EXISTS {name}")
        run(engine, f"ALTER TABLE {raw} RENAME TO {name}")


def promote_champion(
    engine: Engine,
    settings: Settings,
    months: list[dt.date],
    version: str = "champion",
    *,
    extra_feature: str | None = None,
    gini: float = 0.5,
) -> str:
    """Train a small multimodal package on ``months``, save it in the settings' registry and promote it.

    ``extra_feature`` adds a numeric feature the snapshot does not have (a copy of
    ``turnover_in_12m``): a package made by a code version with another snapshot.
    """
    from dataclasses import replace

    from rko_model.model.dataset import build_dataset
    from rko_model.model.package import data_fingerprint, reference_distributions
    from rko_model.model.registry import Registry
    from rko_model.model.spec import rko_spec
    from rko_model.model.train import TrainParams, train

    frame, spec = build_dataset(engine, months, settings), rko_spec()
    if extra_feature:
        frame[extra_feature] = frame["turnover_in_12m"]
        spec = replace(spec, numeric=(*spec.numeric, extra_feature))
    trained = train(frame, spec, TrainParams(iterations=60, depth=4, learning_rate=0.2))
    registry = Registry.of(settings)
    registry.add_model(
        trained,
        version=version,
        training_months=[m.isoformat() for m in months],
        retro={"gini_mean": gini, "gini_std": 0.01},
        fingerprint=data_fingerprint(frame, trained.spec),
        reference=reference_distributions(frame, trained.predict(frame), trained),
        provenance=provenance_for([m.isoformat() for m in months]),
    )
    assert registry.promote(version).promoted
    return version


def registry_folder(settings: Settings) -> Path:
    """The local folder of the settings' registry (the tests' registries are ``file://``)."""
    from rko_model.storage.artifacts import local_path

    folder = local_path(settings.registry_url)
    assert folder is not None, settings.registry_url
    return folder


def provenance_for(training_months: list[str]) -> dict:
    """A package's retro and refit months for a test package fit on ``training_months`` (a refit)."""
    from rko_model.model.package import provenance

    return provenance("refit", ["2000-01-31"], ["2000-06-30"], training_months)


def reset_postgres_staging(url: str) -> None:
    """Drop the staging and monitoring schemas of the PostgreSQL test database (they are not per-test)."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA IF EXISTS mo_staging CASCADE")
        conn.exec_driver_sql("DROP SCHEMA IF EXISTS rko_monitoring CASCADE")
    engine.dispose()


def champion_stack(
    warehouse: Engine, url: str, kind: str, folder: Path, admin_url: str, as_of: dt.date | None = None
) -> Settings:
    """Settings on a written bank with empty staging tables and a promoted champion (a quick 40-tree model).

    PostgreSQL keeps the lists in the warehouse's database; SQLite in a file beside the data.
    ``as_of``: the champion knows no label after that month, so a month from then on is out of time.
    """
    if kind == "postgresql":
        reset_postgres_staging(admin_url)
        staging_url = url
    else:
        staging_url = f"sqlite:///{folder / 'data' / 'mo_staging.db'}"
    settings = replace(
        Settings.from_env({"RKO_DATA_DIR": str(folder / "data")}), warehouse_url=url, staging_url=staging_url
    )
    trained = train_and_report(
        warehouse,
        settings,
        n_train=2,
        n_test=1,
        params=TrainParams(iterations=40, depth=4),
        ablation=False,
        as_of=as_of,
    )
    assert Registry.of(settings).promote(trained.run_id).promoted
    return settings


@contextmanager
def champion_bank(kind: str, folder: Path, bank: BankSpec, as_of: dt.date | None = None) -> Iterator[Settings]:
    """``bank`` generated on ``kind`` with a promoted champion (see :func:`champion_stack`); dropped afterwards."""
    from tests.conftest import POSTGRES_URL, new_warehouse

    engine, url, drop = new_warehouse(kind, folder)
    try:
        write_bank(engine, generate(bank))
        yield champion_stack(engine, url, kind, folder, POSTGRES_URL, as_of)
    finally:
        engine.dispose()
        drop()


def airflow_connections(patch: pytest.MonkeyPatch, settings: Settings) -> None:
    """Point the DAGs' Connections and data folder at ``settings`` (for ``dag.test()``)."""
    patch.setenv("RKO_DATA_DIR", str(settings.data_dir))
    for conn_id, url in (("WAREHOUSE", settings.warehouse_url), ("STAGING", settings.staging_url)):
        patch.setenv(
            f"AIRFLOW_CONN_RKO_{conn_id}", json.dumps({"conn_type": "generic", "extra": {"sqlalchemy_url": url}})
        )
