"""The published list of a month as files for the marketing optimizer's batch import: Parquet, CSV, manifest.

The export reads the month back from ``mo_staging.rko_propensity`` (so it exports what was
published, with every column the list has: the pilot arm and the reasons where the table holds
them) and writes ``exports/rko_propensity/report_date=<month>/`` in the artefact store
(:mod:`rko_model.storage.artifacts`):

- ``rko_propensity.parquet`` and ``rko_propensity.csv``: the rows, best rank first;
- ``manifest.json``, written last: month, run, model, rows, columns, and each file's size and
  sha256.

Atomic: each file is written under a temporary name and moved into place, and the manifest
is removed before a rewrite and written only after both files are complete, so an importer
that waits for the manifest and checks the checksums never reads a half-written month.
Idempotent: a rerun of a month writes the same names again (the same bytes for the same
list); nothing accumulates.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from typing import Any

import pandas as pd
import sqlalchemy as sa

from rko_model.common.dates import parse_report_date
from rko_model.errors import NotPublishedError
from rko_model.settings import Settings
from rko_model.storage import artifacts
from rko_model.warehouse.backends import backend_for
from rko_model.warehouse.query import ColumnKind, read_frame
from rko_model.warehouse.staging import STAGING_SCHEMA, make_staging_engine

log = logging.getLogger(__name__)

EXPORT_FOLDER = ("exports", "rko_propensity")
PARQUET, CSV, MANIFEST = "rko_propensity.parquet", "rko_propensity.csv", "manifest.json"
#: Load bookkeeping of the staging table, not part of the list.
LEFT_OUT = ("loaded_at",)


def export_folder(settings: Settings, report_date: dt.date) -> str:
    """The URI of a month's export in the artefact store."""
    return artifacts.join(settings.artifact_url, *EXPORT_FOLDER, f"report_date={report_date.isoformat()}")


def _kind(column_type: sa.types.TypeEngine) -> ColumnKind | None:
    if isinstance(column_type, sa.Integer):
        return "int"
    if isinstance(column_type, sa.Float | sa.Numeric):
        return "float"
    if isinstance(column_type, sa.Date) and not isinstance(column_type, sa.DateTime):
        return "date"
    if isinstance(column_type, sa.String):
        return "str"
    return None


def read_list(engine: sa.Engine, sql_dir: Any, report_date: dt.date) -> pd.DataFrame:
    """The month's list as published, every column but the load bookkeeping, typed alike on both engines."""
    columns = sa.inspect(engine).get_columns("rko_propensity", schema=STAGING_SCHEMA)
    kinds = {c["name"]: kind for c in columns if (kind := _kind(c["type"])) is not None}
    sql = backend_for(engine).load_sql(sql_dir, "export/published_list")
    frame = read_frame(engine, sql, {"report_date": report_date}, kinds)
    frame = frame.drop(columns=[c for c in LEFT_OUT if c in frame.columns])
    if "report_date" in frame.columns:
        frame["report_date"] = pd.to_datetime(frame["report_date"]).dt.date
    return frame.reset_index(drop=True)


def _digest(data: bytes) -> dict[str, Any]:
    return {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def export_month(settings: Settings, report_date: dt.date | str) -> dict[str, Any]:
    """Write the month's published list as Parquet, CSV and manifest; returns their URIs and the row count.

    Raises :class:`NotPublishedError` for a month without a published list (nothing is written).
    """
    report_date = parse_report_date(report_date)
    frame = read_list(make_staging_engine(settings.staging_url), settings.sql_dir, report_date)
    if frame.empty:
        raise NotPublishedError(f"{report_date} has no published list to export; score the month first")
    folder = export_folder(settings, report_date)
    manifest_uri = artifacts.join(folder, MANIFEST)
    if artifacts.exists(manifest_uri):  # the month is not complete while it is rewritten
        artifacts.remove(manifest_uri)
    files = {}
    for name, write in ((PARQUET, artifacts.write_parquet), (CSV, artifacts.write_csv)):
        uri = write(frame, artifacts.join(folder, name))
        files[name] = _digest(artifacts.read_bytes(uri))
    runs = sorted(frame["run_id"].unique().tolist()) if "run_id" in frame.columns else []
    versions = sorted(frame["model_version"].unique().tolist()) if "model_version" in frame.columns else []
    manifest = {
        "report_date": report_date.isoformat(),
        "rows": len(frame),
        "run_id": runs[0] if len(runs) == 1 else runs,
        "model_version": versions[0] if len(versions) == 1 else versions,
        "columns": list(frame.columns),
        "files": files,
        "exported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    artifacts.write_bytes(json.dumps(manifest, indent=1, ensure_ascii=False).encode("utf-8"), manifest_uri)
    log.info("exported the list of %s: %d rows, columns %s -> %s", report_date, len(frame), manifest["columns"], folder)
    return {
        "report_date": report_date.isoformat(),
        "rows": len(frame),
        "run_id": manifest["run_id"],
        "parquet": artifacts.join(folder, PARQUET),
        "csv": artifacts.join(folder, CSV),
        "manifest": manifest_uri,
    }
