"""The pilot's part of scoring and publishing a month: arms, rules ranks, the do-not-contact flag, and reasons.

Reasons are computed for the clients the optimizer may contact: the top ``reason_deciles`` of
the model's ranking, and the same share of the rules arm by rules rank. They are computed where
the rows already are, in each partition's score step (:func:`partition_reasons`, mapped tasks
that run in parallel), for the clients of the partition's own ranking that the month's list
will need: with one partition its ranking *is* the month's, so the set is exact; with several,
a partition's top share is a sample of the month's, so a small margin is explained too, and
the few targets the month's ranking still finds without reasons are explained at publish from
the snapshot files. :func:`prepare_list`, called by :func:`rko_model.runs.monthly.publish` on the
whole month's ranked list (so arms and ranks do not depend on partitions), joins them. A
client's reasons depend only on its own row and the package, so they are the same whichever
step computes them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from rko_model import columns as col
from rko_model.model.package import ModelPackage
from rko_model.model.registry import Registry
from rko_model.pilot.arms import add_pilot_columns, assign_arms, rules_rank
from rko_model.pilot.config import REASON_SHAP, RULES, PilotConfig
from rko_model.pilot.reasons import explain
from rko_model.settings import Settings
from rko_model.storage import artifacts
from rko_model.warehouse.list_columns import REASON_COLUMNS

log = logging.getLogger(__name__)

#: Columns of a partition's scores file that carry the rules' keys (written by the score step).
RULES_KEY_COLUMNS = ("rules_points", "rules_turnover")
#: The published reason columns, as a partition's reasons file holds them.
REASON_LIST_COLUMNS = (*REASON_COLUMNS, "reason_text")
#: With several partitions, the extra share of a partition's ranking explained in its score step.
#: A partition's top 30% is a hash sample of the month's: the month's cut lies within a few
#: tenths of a percent of the partition's (sd about 0.3% at 25,000 clients), so 2% extra leaves
#: almost no client to publish, for 7% more work.
PARTITION_MARGIN = 0.02
#: Snapshot rows read at a time when the reasons' rows are gathered.
READ_ROWS = 20_000
#: Rows explained per SHAP call (the contributions matrix of this many rows is small).
EXPLAIN_ROWS = 20_000


def _targets(model_rank: np.ndarray, arms: np.ndarray, rules_ranks: np.ndarray | None, share: float) -> np.ndarray:
    """The rows whose model rank (1 = best) or, in the rules arm, rules rank is within the top ``share``."""
    n = len(model_rank)
    top = (np.asarray(model_rank) - 1) < share * n  # the same as decile <= share * 10 of rank_scores
    if rules_ranks is not None:
        top = top | ((arms == RULES) & (rules_ranks <= share * n))
    return top


def reason_targets(listed: pd.DataFrame, config: PilotConfig) -> np.ndarray:
    """Which rows get reasons: the contacted deciles of the model, the same share of the rules arm by rules rank."""
    rules = None
    if "rules_rank" in listed and listed["rules_rank"].notna().any():
        rules = listed["rules_rank"].fillna(len(listed) + 1).to_numpy(dtype=np.int64)
    return _targets(listed["rank"].to_numpy(), listed["arm"].to_numpy(), rules, config.reason_deciles / 10)


def partition_targets(scores: pd.DataFrame, config: PilotConfig, partitions: int) -> np.ndarray:
    """The client ids of one partition's scores (``client_id``, ``score``, rules keys) that probably need reasons.

    Ranked as :func:`rko_model.stages.scoring.rank_scores` and :func:`add_pilot_columns` rank the month,
    within the partition; with several partitions the share is widened by :data:`PARTITION_MARGIN`.
    """
    if config.reason_deciles == 0 or not len(scores):
        return np.array([], dtype=np.int64)
    ids = scores[col.CLIENT_ID].to_numpy(dtype=np.int64)
    order = np.lexsort((ids, -scores["score"].to_numpy(dtype=np.float64)))
    model_rank = np.empty(len(ids), dtype=np.int64)
    model_rank[order] = np.arange(1, len(ids) + 1)
    rules = None
    if set(RULES_KEY_COLUMNS) <= set(scores.columns):
        rules = rules_rank(ids, scores["rules_points"].to_numpy(), scores["rules_turnover"].to_numpy())
    share = min(1.0, config.reason_deciles / 10 + (PARTITION_MARGIN if partitions > 1 else 0.0))
    return ids[_targets(model_rank, assign_arms(ids, config), rules, share)]


def explain_rows(package: ModelPackage, paths: Sequence[str], ids: np.ndarray, config: PilotConfig) -> pd.DataFrame:
    """The reasons (``client_id`` and the published reason columns) of clients ``ids``, read from snapshot files.

    The files are streamed; the wanted rows are gathered and explained :data:`EXPLAIN_ROWS` at a
    time (a SHAP call has a fixed cost, CatBoost's exact SHAP a per-call precalculation), so
    memory does not grow with the month.
    """
    wanted = pd.Index(ids)
    columns = [col.CLIENT_ID, *package.spec.features]
    shap_calc_type = REASON_SHAP[config.reason_shap]
    parts: list[pd.DataFrame] = []
    pending: list[pd.DataFrame] = []

    def flush() -> None:
        rows = pd.concat(pending, ignore_index=True)
        pending.clear()
        reasons = explain(package.model, rows, package.spec, shap_calc_type=shap_calc_type)
        parts.append(reasons[[col.CLIENT_ID, *REASON_LIST_COLUMNS]])

    for path in paths:  # URIs of the artefact store: any worker reads them
        for chunk in artifacts.iter_parquet(path, READ_ROWS, only=(col.CLIENT_ID, np.asarray(ids, dtype=np.int64))):
            rows = chunk.loc[chunk[col.CLIENT_ID].isin(wanted), columns]
            if len(rows):
                pending.append(rows)
            if sum(len(p) for p in pending) >= EXPLAIN_ROWS:
                flush()
    if pending:
        flush()
    if not parts:
        return pd.DataFrame(
            {
                c: pd.Series(dtype=np.int64 if c == col.CLIENT_ID else object)
                for c in (col.CLIENT_ID, *REASON_LIST_COLUMNS)
            }
        )
    return pd.concat(parts, ignore_index=True)


def partition_reasons(
    package: ModelPackage, scores: pd.DataFrame, snapshot_path: str, config: PilotConfig, partitions: int
) -> pd.DataFrame:
    """The score step's reasons: those of the partition's clients that the month's list will probably need."""
    return explain_rows(package, [snapshot_path], partition_targets(scores, config, partitions), config)


def prepare_list(
    settings: Settings, ranked: pd.DataFrame, scores: pd.DataFrame, scored: Sequence[dict[str, Any]], version: str
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The ranked list with the pilot's columns, and figures for the run metrics (rows, seconds)."""
    config = settings.pilot_config()
    keys = scores[[col.CLIENT_ID, *RULES_KEY_COLUMNS]] if set(RULES_KEY_COLUMNS) <= set(scores.columns) else None
    listed = add_pilot_columns(ranked, keys, config)
    for name in REASON_LIST_COLUMNS:
        listed[name] = None
    started = time.perf_counter()
    targets = reason_targets(listed, config) if config.reason_deciles > 0 else np.zeros(len(listed), dtype=bool)
    ids = listed.loc[targets, col.CLIENT_ID].to_numpy(dtype=np.int64)
    parts = [artifacts.read_parquet(ref["reasons_path"]) for ref in scored if ref.get("reasons_path")]
    known = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[col.CLIENT_ID])
    missing = ids[~np.isin(ids, known[col.CLIENT_ID].to_numpy(dtype=np.int64))]
    paths = [ref["snapshot_path"] for ref in scored if ref.get("snapshot_path")]
    if len(missing) and paths:  # several partitions' stragglers, or scores made without reasons
        package = Registry.of(settings).load(version)
        known = pd.concat([known, explain_rows(package, paths, missing, config)], ignore_index=True)
    explained = int(np.isin(ids, known[col.CLIENT_ID].to_numpy(dtype=np.int64)).sum())
    if explained:
        aligned = known.drop_duplicates(col.CLIENT_ID).set_index(col.CLIENT_ID).reindex(ids)
        for name in REASON_LIST_COLUMNS:
            values = np.array(listed[name], dtype=object)  # a writable copy
            values[targets] = aligned[name].to_numpy(dtype=object)
            listed[name] = values
    publish_seconds = round(time.perf_counter() - started, 2)
    score_seconds = round(sum(float(ref.get("reasons_seconds") or 0.0) for ref in scored), 2)
    arms = listed["arm"].value_counts().to_dict()
    log.info(
        "pilot %s: arms %s; reasons for %d clients (top %d deciles, %s SHAP): %.1f s in the score step, "
        "%d clients and %.1f s at publish",
        config.name,
        arms,
        explained,
        config.reason_deciles,
        config.reason_shap,
        score_seconds,
        len(missing),
        publish_seconds,
    )
    return listed, {
        "pilot": config.name,
        "arms": arms,
        "reasons_rows": explained,
        "reasons_shap": config.reason_shap,
        "reasons_seconds": round(score_seconds + publish_seconds, 2),
        "reasons_publish_rows": len(missing),
        "reasons_publish_seconds": publish_seconds,
    }
