"""The pilot's part of scoring and publishing a month: arms, rules ranks, the do-not-contact flag, and reasons.

Reasons are computed for the clients the optimizer may contact: the top ``reason_deciles`` of
the model's ranking, and the same share of the rules arm by rules rank. They are computed where
the rows already are, in each partition's score step (:class:`ReasonRows`, mapped tasks
that run in parallel), for the clients of the partition's own ranking that the month's list
will need: with one partition its ranking *is* the month's, so the set is exact; with several,
a partition's top share is a sample of the month's, so a small margin is explained too, and
the few targets the month's ranking still finds without reasons are explained at publish from
the snapshot files. :func:`prepare_list`, called by :func:`rko_model.runs.monthly.publish` on the
whole month's ranked list (so arms and ranks do not depend on partitions), joins them. A
client's reasons depend only on its own row and the package, so they are the same whichever
step computes them.

The score step does not read its snapshot a second time for them: :class:`ReasonRows` keeps,
chunk by chunk while the step scores, the rows that can still be among the partition's
targets, and explains the targets from those rows at the end.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, fields
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


def _target_share(config: PilotConfig, partitions: int) -> float:
    """The share of a partition's ranking explained in its score step (widened when there are several)."""
    return min(1.0, config.reason_deciles / 10 + (PARTITION_MARGIN if partitions > 1 else 0.0))


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
    return ids[_targets(model_rank, assign_arms(ids, config), rules, _target_share(config, partitions))]


def _no_reasons() -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.Series(dtype=np.int64 if c == col.CLIENT_ID else object) for c in (col.CLIENT_ID, *REASON_LIST_COLUMNS)}
    )


def _explain(package: ModelPackage, rows: pd.DataFrame, config: PilotConfig, *, prepared: bool = False) -> pd.DataFrame:
    """The published reason columns of ``rows`` (snapshot rows; ``prepared``: model-matrix rows), in calls of
    :data:`EXPLAIN_ROWS`."""
    shap_calc_type = REASON_SHAP[config.reason_shap]
    parts = []
    for start in range(0, len(rows), EXPLAIN_ROWS):
        chunk = rows.iloc[start : start + EXPLAIN_ROWS]
        reasons = explain(package.model, chunk, package.spec, shap_calc_type=shap_calc_type, prepared=prepared)
        parts.append(reasons[[col.CLIENT_ID, *REASON_LIST_COLUMNS]])
    return pd.concat(parts, ignore_index=True) if parts else _no_reasons()


def explain_rows(package: ModelPackage, paths: Sequence[str], ids: np.ndarray, config: PilotConfig) -> pd.DataFrame:
    """The reasons (``client_id`` and the published reason columns) of clients ``ids``, read from snapshot files.

    The files are streamed; the wanted rows are gathered and explained :data:`EXPLAIN_ROWS` at a
    time (a SHAP call has a fixed cost, CatBoost's exact SHAP a per-call precalculation), so
    memory does not grow with the month.
    """
    wanted = pd.Index(ids)
    columns = [col.CLIENT_ID, *package.spec.features]
    parts: list[pd.DataFrame] = []
    pending: list[pd.DataFrame] = []
    for path in paths:  # URIs of the artefact store: any worker reads them
        for chunk in artifacts.iter_parquet(path, READ_ROWS, only=(col.CLIENT_ID, np.asarray(ids, dtype=np.int64))):
            rows = chunk.loc[chunk[col.CLIENT_ID].isin(wanted), columns]
            if len(rows):
                pending.append(rows)
            if sum(len(p) for p in pending) >= EXPLAIN_ROWS:
                parts.append(_explain(package, pd.concat(pending, ignore_index=True), config))
                pending.clear()
    if pending:
        parts.append(_explain(package, pd.concat(pending, ignore_index=True), config))
    return pd.concat(parts, ignore_index=True) if parts else _no_reasons()


def _kth_largest(major: np.ndarray, minor: np.ndarray, k: int) -> tuple[float, float]:
    """The ``k``-th largest (major, minor) pair in lexicographic order (1 <= k <= len), in linear time."""
    n = len(major)
    top = np.partition(major, n - k)[n - k]
    tied = minor[major == top]
    need = k - int(np.count_nonzero(major > top))  # 1..len(tied)
    return float(top), float(np.partition(tied, len(tied) - need)[len(tied) - need])


class _RunningTop:
    """The ``k`` largest (major, minor) keys of the rows seen so far, as a threshold that only rises.

    A row among the ``k`` largest keys of the whole partition is among the ``k`` largest of the
    rows seen when its chunk comes (rows only join), so a row that does not pass the threshold
    then is never needed. Ties with the threshold pass: a superset, never a miss.
    """

    def __init__(self, k: int) -> None:
        self.k = k
        self.threshold = (-np.inf, -np.inf)
        self.major = np.zeros(0)
        self.minor = np.zeros(0)

    def passes(self, major: np.ndarray, minor: np.ndarray) -> np.ndarray:
        top, tied = self.threshold
        return (major > top) | ((major == top) & (minor >= tied))

    def admit(self, major: np.ndarray, minor: np.ndarray) -> np.ndarray:
        """Take a chunk's keys in; which of its rows are within the ``k`` largest seen so far."""
        new = self.passes(major, minor)
        self.major = np.concatenate([self.major, major[new]])
        self.minor = np.concatenate([self.minor, minor[new]])
        if len(self.major) > self.k:
            self.threshold = _kth_largest(self.major, self.minor, self.k)
            kept = self.passes(self.major, self.minor)
            self.major, self.minor = self.major[kept], self.minor[kept]
        return self.passes(major, minor)


def _member(values: np.ndarray, ordered: np.ndarray) -> np.ndarray:
    """Whether each of ``values`` is in ``ordered`` (sorted): one sort for many lookups, not one per call."""
    at = np.minimum(np.searchsorted(ordered, values), max(len(ordered) - 1, 0))
    return ordered[at] == values if len(ordered) else np.zeros(len(values), dtype=bool)


@dataclass
class _Piece:
    """Kept rows of one chunk, row-aligned: ids, model-matrix values (numbers; text and categories) and keys."""

    ids: np.ndarray
    numbers: np.ndarray
    objects: np.ndarray
    scores: np.ndarray
    points: np.ndarray
    turnover: np.ndarray
    in_rules: np.ndarray

    def take(self, rows: np.ndarray) -> _Piece:
        """The piece's ``rows`` (the rules' keys are empty outside a pilot with a rules arm, and stay so)."""
        values = (getattr(self, f.name) for f in fields(self))
        return _Piece(*(v[rows] if len(v) else v for v in values))


class ReasonRows:
    """The score step's rows that may need reasons, kept while it scores its snapshot chunk by chunk.

    Rereading the snapshot for the targets once they are known cost as much as scoring it
    again at 1M clients; here each chunk gives up the rows that can still be targets: those
    within the running top of the model's score (the targets' share of ``rows``, the
    partition's row count) and, in the rules arm, of the rules' keys (the rules rank counts
    every client). That keeps every target and about twice as many rows as targets at most
    (kept rows that fall out of the running top are dropped when they pile up). The rows are
    the model matrix the chunk was scored from, held as two NumPy arrays (numbers, and text and
    categories) because filtering rows of a wide DataFrame costs several times more.
    :meth:`reasons` explains the exact targets (:func:`partition_targets`) from them.
    """

    def __init__(self, package: ModelPackage, config: PilotConfig, partitions: int, rows: int) -> None:
        self.package = package
        self.config = config
        self.partitions = partitions
        k = int(np.floor(_target_share(config, partitions) * rows)) + 1 if config.reason_deciles > 0 else 0
        self._model = _RunningTop(k)
        self._rules = _RunningTop(k) if config.rules_share > 0 and k else None
        spec = package.spec
        self._numbers = [f for f in spec.features if f in spec.numeric]
        self._objects = [f for f in spec.features if f not in spec.numeric]
        self._pieces: list[_Piece] = []
        self._kept = 0
        self.keep_seconds = 0.0  # spent keeping rows while the step scores: part of the reasons' cost

    def add(self, ids: np.ndarray, matrix: pd.DataFrame, scores: np.ndarray, keys: pd.DataFrame | None) -> None:
        """Keep the rows of a scored chunk that may be targets.

        ``ids``, ``matrix`` (the model matrix the chunk was scored from, so that the reasons do not
        build it again), ``scores`` and ``keys`` (its rules points and turnover) are row-aligned.
        """
        if self._model.k == 0 or not len(ids):
            return
        started = time.perf_counter()
        ids = np.asarray(ids, dtype=np.int64)
        scores = np.asarray(scores, dtype=np.float64)
        keep = self._model.admit(scores, np.zeros(len(scores)))
        points = turnover = in_rules = np.zeros(0)
        if self._rules is not None and keys is not None:
            points = keys["rules_points"].to_numpy(dtype=np.float64)
            turnover = keys["rules_turnover"].to_numpy(dtype=np.float64)
            in_rules = assign_arms(ids, self.config) == RULES
            keep = keep | (in_rules & self._rules.admit(points, turnover))
        if keep.any():
            rows = np.flatnonzero(keep)
            numbers = np.empty((len(rows), len(self._numbers)))
            objects = np.empty((len(rows), len(self._objects)), dtype=object)
            for j, name in enumerate(self._numbers):  # column by column: 2x cheaper than the frame's to_numpy
                numbers[:, j] = matrix[name].to_numpy(dtype=np.float64)[rows]
            for j, name in enumerate(self._objects):
                objects[:, j] = matrix[name].to_numpy(dtype=object)[rows]
            rules_keys = (
                (points[rows], turnover[rows], in_rules[rows]) if len(in_rules) else (points, turnover, in_rules)
            )
            self._pieces.append(_Piece(ids[rows], numbers, objects, scores[rows], *rules_keys))
            self._kept += len(rows)
        if self._kept > 2 * (self._model.k + (self._rules.k if self._rules is not None else 0)):
            self._drop_passed()
        self.keep_seconds += time.perf_counter() - started

    def _drop_passed(self) -> None:
        """Drop the kept rows that have fallen out of the running tops since their chunk."""
        pieces = []
        for piece in self._pieces:
            keep = self._model.passes(piece.scores, np.zeros(len(piece.scores)))
            if self._rules is not None and len(piece.in_rules):
                keep = keep | (piece.in_rules & self._rules.passes(piece.points, piece.turnover))
            if keep.all():
                pieces.append(piece)
            elif keep.any():
                pieces.append(piece.take(np.flatnonzero(keep)))
        self._pieces = pieces
        self._kept = sum(len(p.ids) for p in pieces)

    @property
    def kept(self) -> int:
        return self._kept

    def reasons(self, scores: pd.DataFrame, snapshot_path: str) -> pd.DataFrame:
        """The reasons of the partition's targets among ``scores`` (the whole partition's), from the kept rows.

        A target not kept (only if the snapshot holds more rows than the step was told) is read
        from the snapshot file, as at publish.
        """
        ids = partition_targets(scores, self.config, self.partitions)
        if not len(ids):
            return _no_reasons()
        ordered = np.sort(ids)
        pieces = [p.take(np.flatnonzero(_member(p.ids, ordered))) for p in self._pieces]
        self._pieces, self._kept = [], 0
        kept_ids = np.concatenate([p.ids for p in pieces]) if pieces else np.zeros(0, dtype=np.int64)
        parts = []
        if len(kept_ids):
            columns = {col.CLIENT_ID: kept_ids}
            numbers = np.concatenate([p.numbers for p in pieces])
            objects = np.concatenate([p.objects for p in pieces])
            columns.update(zip(self._numbers, numbers.T, strict=True))
            # object dtype kept on purpose, as model_matrix makes it (pandas 3 would infer its string dtype)
            columns.update((name, pd.Series(v, dtype=object)) for name, v in zip(self._objects, objects.T, strict=True))
            rows = pd.DataFrame(columns)[[col.CLIENT_ID, *self.package.spec.features]]
            del numbers, objects, columns
            parts.append(_explain(self.package, rows, self.config, prepared=True))
        missing = ids[~_member(ids, np.sort(kept_ids))]
        if len(missing):
            log.warning("reasons: %d targets were not kept while scoring; read from %s", len(missing), snapshot_path)
            parts.append(explain_rows(self.package, [snapshot_path], missing, self.config))
        return pd.concat(parts, ignore_index=True) if parts else _no_reasons()


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
