"""Each client's arm, from a stable hash of its id and the pilot's salt; and the rank by the business rules.

The arm depends on the client id and the salt only: not on the month, the partition, the
order of rows or the machine, so a client keeps its arm for the whole pilot and a list split
into partitions gets the same arms. The hash is SplitMix64 of the id mixed with a 64-bit
digest of the salt: fast on a million ids, and uniform enough that arm shares stay within
sampling error.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from rko_model import columns as col
from rko_model.model.baselines import rules_score
from rko_model.pilot.config import ARMS, CONTROL, PilotConfig

_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


def _salt_key(salt: str) -> np.uint64:
    return np.uint64(int.from_bytes(hashlib.sha256(salt.encode("utf-8")).digest()[:8], "little"))


def _splitmix64(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def uniform_of(client_ids: np.ndarray, salt: str) -> np.ndarray:
    """A number in [0, 1) per client, fixed by the id and the salt."""
    ids = np.asarray(client_ids, dtype=np.int64).astype(np.uint64)
    hashed = _splitmix64(ids ^ _salt_key(salt))
    return (hashed >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def assign_arms(client_ids: np.ndarray, config: PilotConfig) -> np.ndarray:
    """``model``, ``rules`` or ``control`` per client, by the configuration's shares."""
    u = uniform_of(client_ids, config.salt)
    bounds = np.cumsum([config.shares[a] for a in ARMS])
    index = np.minimum(np.searchsorted(bounds, u, side="right"), len(ARMS) - 1)
    return np.asarray(ARMS, dtype=object)[index]


def rules_keys(snapshot: pd.DataFrame) -> pd.DataFrame:
    """What the rules rank needs of a snapshot chunk: points, and the turnover that breaks ties.

    The points are the integer part of :func:`~rko_model.model.baselines.rules_score` (its
    tie-break is below one point); the tie-break is redone on the whole month in
    :func:`rules_rank`, so that chunks and partitions rank alike.
    """
    return pd.DataFrame(
        {
            col.CLIENT_ID: snapshot[col.CLIENT_ID].to_numpy(dtype=np.int64),
            "rules_points": np.floor(rules_score(snapshot)).astype(np.int64),
            "rules_turnover": snapshot["turnover_in_3m"].fillna(0.0).to_numpy(dtype=np.float64),
        }
    )


def rules_rank(client_ids: np.ndarray, points: np.ndarray, turnover: np.ndarray) -> np.ndarray:
    """Rank by the rules (1 = first contacted): more points first, then higher turnover, then the lower id."""
    order = np.lexsort((np.asarray(client_ids), -np.asarray(turnover, dtype=float), -np.asarray(points)))
    ranks = np.empty(len(order), dtype=np.int64)
    ranks[order] = np.arange(1, len(order) + 1)
    return ranks


def add_pilot_columns(ranked: pd.DataFrame, keys: pd.DataFrame | None, config: PilotConfig) -> pd.DataFrame:
    """The ranked list with ``arm``, ``rules_rank`` and ``do_not_contact`` (1 for the control group)."""
    out = ranked.copy()
    ids = out[col.CLIENT_ID].to_numpy(dtype=np.int64)
    out["arm"] = assign_arms(ids, config)
    if keys is not None and len(keys):
        aligned = keys.set_index(col.CLIENT_ID).reindex(ids)
        out["rules_rank"] = rules_rank(
            ids, aligned["rules_points"].fillna(-99).to_numpy(), aligned["rules_turnover"].fillna(0.0).to_numpy()
        )
    else:
        out["rules_rank"] = pd.array([pd.NA] * len(out), dtype="Int64")
    out["do_not_contact"] = (out["arm"] == CONTROL).astype(np.int64)
    return out
