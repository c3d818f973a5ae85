"""CatBoost's approximate SHAP values, evaluated from CatBoost's own leaf indices: the same numbers, cheaper.

CatBoost's ``shap_calc_type="Approximate"`` (a Saabas-style attribution) credits each split on a
client's path through an oblivious tree with the change it makes to the expected value of
the subtree (leaf values weighted by the leaf weights); a split's credit goes to its source
feature (a CTR's to its categorical features, shared equally; a text-derived feature's to
the text). Those credits depend only on the leaf the client falls into, so they form one
table per (tree, leaf), and a client's values are the sum of its leaves' rows. CatBoost's
``get_feature_importance`` pays a fixed cost per row on a model with a text feature (it
prepares every one of the text's tens of thousands of derived features for every row: about
0.5 ms a row against 0.03 ms for ``predict``), which made the reasons cost several times the
score step. Here the leaves come from CatBoost's own ``calc_leaf_indexes`` (the applier that
predicts) and the table is built once per package from its leaf values and weights by
CatBoost's own rule (``CalcObliviousApproximateShapValuesForLeafImplementation``,
``CalcSubtreeValuesForTree`` and ``MapBinFeaturesToClasses`` in catboost/libs/fstr).

The table of a loaded model is checked on the first rows it explains against
``get_feature_importance(..., "Approximate")`` itself (:mod:`rko_model.pilot.reasons`), and on
any difference CatBoost computes every call of that model (``tests/pilot`` checks every row of
a trained multimodal package), so the values stay CatBoost's. Once per model, not per call:
the check's CatBoost call has a fixed cost on a text model (about 0.07 s, as much as explaining
4,000 clients), and a wrong table would be wrong in the same splits for every call.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import numpy as np
from catboost import CatBoostClassifier, Pool

log = logging.getLogger(__name__)

#: Rows compared with CatBoost's own approximate SHAP when a model's table is first used (each
#: costs several ms on a text model).
CHECK_ROWS = 16
#: Largest difference (log-odds) from CatBoost's values that still counts as the same.
TOLERANCE = 1e-9
#: Rows of leaf indexes transposed at a time.
TRANSPOSE_ROWS = 256
#: A subtree weight this close to zero has no expected value (CatBoost's FuzzyEquals(1 + w, 1)).
ZERO_WEIGHT = 1e-13

_TEXT_SPLIT = re.compile(r"^\s*src_feature_id=(\d+)\b")


@dataclass(frozen=True)
class LeafTable:
    """CatBoost's approximate SHAP of every (tree, leaf), stored per (tree, credited feature) pair.

    Pairs are ordered by feature: pair ``p`` is tree ``trees[p]``, its value for leaf ``l`` is
    ``values[starts[p] + l]``; the pairs from ``bounds[i]`` on are credited to model feature
    ``features[i]`` (of ``width`` features).
    """

    trees: np.ndarray
    starts: np.ndarray
    counts: np.ndarray
    values: np.ndarray
    features: np.ndarray
    bounds: np.ndarray
    width: int


def _split_features(split: str, names: list[str], categorical: set[str], text: list[int]) -> list[int]:
    """The model's feature indices one split's credit goes to (CatBoost's combination class of the split)."""
    found = _TEXT_SPLIT.match(split)
    if found:  # a feature CatBoost derived from a text: credited to the text
        return [text[int(found.group(1))]]
    if split.startswith("{"):  # a CTR: credited to the categorical features of its projection, equally
        inner = split[1 : split.index("}")]
        heads = [part.strip().split(" ")[0] for part in inner.split(",")]
        return sorted({names.index(h) for h in heads if h in categorical})
    head = split.split(",")[0].strip()
    return [names.index(head)]


def _split_deltas(counts: np.ndarray, offsets: np.ndarray, values: np.ndarray, weights: np.ndarray) -> list[np.ndarray]:
    """Per tree, (depth x leaves): the change of the expected value made by the split at each depth, per leaf.

    The expected value of every subtree, level by level from the leaves up, is CatBoost's
    ``CalcSubtreeValuesForTree``; computed for all trees of one depth at once (the same
    arithmetic, element by element, as tree by tree).
    """
    out: list[np.ndarray] = [np.zeros((0, 1))] * len(counts)
    for count in np.unique(counts).tolist():
        trees = np.flatnonzero(counts == count)
        depth = count.bit_length() - 1
        cells = offsets[trees][:, None] + np.arange(count)
        level_values, level_weights = [values[cells]], [weights[cells]]
        for _ in range(depth):
            v, w = level_values[0], level_weights[0]
            up_w = w[:, 0::2] + w[:, 1::2]
            with np.errstate(invalid="ignore", divide="ignore"):
                up_v = np.where(
                    np.abs(up_w) < ZERO_WEIGHT, 0.0, (v[:, 0::2] * w[:, 0::2] + v[:, 1::2] * w[:, 1::2]) / up_w
                )
            level_values.insert(0, up_v)
            level_weights.insert(0, up_w)
        leaves = np.arange(count)
        per_depth = [
            level_values[d + 1][:, leaves >> (depth - d - 1)] - level_values[d][:, leaves >> (depth - d)]
            for d in range(depth)
        ]
        stacked = np.stack(per_depth, axis=1) if depth else np.zeros((len(trees), 0, count))
        for i, tree in enumerate(trees.tolist()):
            out[tree] = stacked[i]
    return out


def leaf_table(model: CatBoostClassifier, pool: Pool) -> LeafTable:
    """The (tree, leaf) table of ``model`` (oblivious trees, one dimension); ``pool`` names the splits."""
    names = list(model.feature_names_)
    categorical = {names[i] for i in model.get_cat_feature_indices()}
    text = list(model.get_text_feature_indices())
    counts = np.asarray(model.get_tree_leaf_counts(), dtype=np.int64)
    values = np.asarray(model.get_leaf_values(), dtype=np.float64) * model.get_scale_and_bias()[0]
    weights = np.asarray(model.get_leaf_weights(), dtype=np.float64)
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    deltas = _split_deltas(counts, offsets, values, weights)
    pair_trees, pair_starts, pair_counts, pair_values, pair_features = [], [], [], [], []
    start = 0
    for tree, count in enumerate(counts.tolist()):
        depth = count.bit_length() - 1
        splits = model._get_tree_splits(tree, pool)  # position k decides bit k of the leaf
        credit: dict[int, np.ndarray] = {}
        for d in range(depth):  # depth d is decided by split position depth - 1 - d, the leaf's bit of that rank
            delta = deltas[tree][d]
            features = _split_features(splits[depth - d - 1], names, categorical, text)
            for feature in features:
                credit[feature] = credit.get(feature, 0.0) + delta / len(features)
        for feature, per_leaf in sorted(credit.items()):
            pair_trees.append(tree)
            pair_starts.append(start)
            pair_counts.append(count)
            pair_values.append(per_leaf)
            pair_features.append(feature)
            start += count
    order = np.argsort(np.asarray(pair_features, dtype=np.int64), kind="stable")
    features = np.asarray(pair_features, dtype=np.int64)[order]
    first = np.flatnonzero(np.r_[True, features[1:] != features[:-1]]) if len(features) else np.zeros(0, np.int64)
    return LeafTable(
        trees=np.asarray(pair_trees, dtype=np.int64)[order],
        starts=np.asarray(pair_starts, dtype=np.int64)[order],
        counts=np.asarray(pair_counts, dtype=np.int64)[order],
        values=np.concatenate(pair_values) if pair_values else np.zeros(0),
        features=features[first],
        bounds=first,
        width=len(names),
    )


def _by_tree(indexes: np.ndarray, dtype: type) -> np.ndarray:
    """Leaf indexes (rows x trees) as (trees x rows) of ``dtype``: a tree's leaves of all rows contiguous.

    Copied :data:`TRANSPOSE_ROWS` rows at a time, narrowed on the way (a leaf of a depth-8 tree
    fits a byte): a block's source and target stay in the cache, 3-4x faster than one copy.
    """
    out = np.empty((indexes.shape[1], indexes.shape[0]), dtype=dtype)
    for start in range(0, indexes.shape[0], TRANSPOSE_ROWS):
        out[:, start : start + TRANSPOSE_ROWS] = indexes[start : start + TRANSPOSE_ROWS].T
    return out


def approximate_shap(model: CatBoostClassifier, pool: Pool, table: LeafTable) -> np.ndarray:
    """Per-row approximate SHAP values of the model's features (without the expected value): leaves' rows summed."""
    indexes = model.calc_leaf_indexes(pool)
    leaves = _by_tree(indexes, np.uint8 if int(table.counts.max(initial=1)) <= 256 else np.int64)
    del indexes
    out = np.zeros((table.width, leaves.shape[1]))  # a feature's values of all rows are contiguous
    bounds = [*table.bounds.tolist(), len(table.trees)]
    trees, starts, counts = table.trees.tolist(), table.starts.tolist(), table.counts.tolist()
    for i, feature in enumerate(table.features.tolist()):
        column = out[feature]
        for p in range(bounds[i], bounds[i + 1]):
            column += table.values[starts[p] : starts[p] + counts[p]].take(leaves[trees[p]])
    return out.T


def supported(model: CatBoostClassifier) -> bool:
    """Whether the table applies: oblivious trees of one output dimension, with the leaf weights CatBoost keeps."""
    counts = np.asarray(model.get_tree_leaf_counts())
    params = model.get_all_params()
    return (
        params.get("grow_policy", "SymmetricTree") == "SymmetricTree"
        and len(model.get_leaf_values()) == counts.sum()
        and len(model.get_leaf_weights()) == counts.sum()
    )


def same_as_catboost(model: CatBoostClassifier, pool: Pool, values: np.ndarray) -> bool:
    """Whether the first rows of ``values`` agree with CatBoost's own approximate SHAP values of ``pool``.

    Compared: every numeric feature's value, and each row's total over all features (which is
    the raw score less the expected value). Not compared: how the total of the categorical and
    text features is shared among them, where CatBoost 1.2.10 credits a CTR's or a text
    feature's splits to the wrong source feature (see docs/reasons.md); here each split is
    credited to the features it is made of.
    """
    rows = min(CHECK_ROWS, values.shape[0])
    if rows == 0:
        return True
    own = model.get_feature_importance(pool.slice(list(range(rows))), type="ShapValues", shap_calc_type="Approximate")
    own = own[:, :-1]
    mine = values[:rows]
    pooled = set(model.get_cat_feature_indices()) | set(model.get_text_feature_indices())
    numeric = [i for i in range(mine.shape[1]) if i not in pooled]
    difference = max(
        float(np.abs(own[:, numeric] - mine[:, numeric]).max(initial=0.0)),
        float(np.abs(own.sum(axis=1) - mine.sum(axis=1)).max()),
    )
    if difference > TOLERANCE:
        log.warning("leaf-table SHAP differs from CatBoost's by %.3g: CatBoost computes this call", difference)
        return False
    return True
