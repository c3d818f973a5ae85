"""The pilot's part of publishing a month: arms, rules ranks, the do-not-contact flag, and reasons.

Called by :func:`rko_model.monthly.publish` on the whole month's ranked list, so arms and
ranks do not depend on partitions. Reasons are computed for the clients the optimizer may
contact: the top ``reason_deciles`` of the model's ranking, and the same share of the rules
arm by rules rank; their snapshot rows are read back from the partitions' snapshot files.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from rko_model import artifacts
from rko_model import columns as col
from rko_model.model.registry import Registry
from rko_model.pilot.arms import add_pilot_columns
from rko_model.pilot.config import RULES, PilotConfig
from rko_model.pilot.reasons import explain
from rko_model.settings import Settings
from rko_model.warehouse.list_columns import REASON_COLUMNS

log = logging.getLogger(__name__)

#: Columns of a partition's scores file that carry the rules' keys (written by the score step).
RULES_KEY_COLUMNS = ("rules_points", "rules_turnover")


def reason_targets(listed: pd.DataFrame, config: PilotConfig) -> np.ndarray:
    """Which rows get reasons: the contacted deciles of the model, the same share of the rules arm by rules rank."""
    n = len(listed)
    top = listed["decile"].to_numpy() <= config.reason_deciles
    if "rules_rank" in listed and listed["rules_rank"].notna().any():
        cut = config.reason_deciles * n / 10
        rules_top = (listed["arm"].to_numpy() == RULES) & (listed["rules_rank"].fillna(n + 1).to_numpy() <= cut)
        top = top | rules_top
    return top


def _snapshot_rows(paths: Sequence[str], ids: np.ndarray, columns: list[str]) -> pd.DataFrame:
    wanted = pd.Index(ids)
    parts = []
    for path in paths:  # URIs of the artefact store: any worker reads them
        for chunk in artifacts.iter_parquet(path, 50_000):
            parts.append(chunk.loc[chunk[col.CLIENT_ID].isin(wanted), columns])
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


def prepare_list(
    settings: Settings, ranked: pd.DataFrame, scores: pd.DataFrame, scored: Sequence[dict[str, Any]], version: str
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The ranked list with the pilot's columns, and figures for the run metrics (rows, seconds)."""
    config = settings.pilot_config()
    keys = scores[[col.CLIENT_ID, *RULES_KEY_COLUMNS]] if set(RULES_KEY_COLUMNS) <= set(scores.columns) else None
    listed = add_pilot_columns(ranked, keys, config)
    for name in (*REASON_COLUMNS, "reason_text"):
        listed[name] = None
    started = time.perf_counter()
    targets = reason_targets(listed, config)
    paths = [ref["snapshot_path"] for ref in scored if ref.get("snapshot_path")]
    explained = 0
    if targets.any() and paths and config.reason_deciles > 0:
        package = Registry(settings.registry_dir).load(version)
        ids = listed.loc[targets, col.CLIENT_ID].to_numpy()
        rows = _snapshot_rows(paths, ids, [col.CLIENT_ID, *package.spec.features])
        reasons = explain(package.model, rows, package.spec).set_index(col.CLIENT_ID)
        aligned = reasons.reindex(listed[col.CLIENT_ID])
        for name in (*REASON_COLUMNS, "reason_text"):
            listed[name] = aligned[name].to_numpy()
        explained = len(reasons)
    seconds = round(time.perf_counter() - started, 2)
    arms = listed["arm"].value_counts().to_dict()
    log.info(
        "pilot %s: arms %s; reasons for %d clients (top %d deciles) in %.1f s",
        config.name,
        arms,
        explained,
        config.reason_deciles,
        seconds,
    )
    return listed, {"pilot": config.name, "arms": arms, "reasons_rows": explained, "reasons_seconds": seconds}
