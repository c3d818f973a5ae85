"""Arms: stable per client and pilot, shares within sampling error, the same for any partitioning; rules rank."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rko_model.errors import ConfigError
from rko_model.pilot.arms import add_pilot_columns, assign_arms, rules_rank, uniform_of
from rko_model.pilot.config import CONTROL, MODEL, RULES, PilotConfig, load_pilot_config
from rko_model.stages.scoring import rank_scores

PILOT = PilotConfig(name="p1", salt="pilot-2026", model_share=0.45, rules_share=0.45, control_share=0.10)
IDS = np.arange(10_000_000, 10_200_000, dtype=np.int64)


def test_shares_are_within_sampling_error() -> None:
    arms = assign_arms(IDS, PILOT)
    n = len(IDS)
    for arm, share in PILOT.shares.items():
        observed = float(np.mean(arms == arm))
        assert abs(observed - share) < 4 * np.sqrt(share * (1 - share) / n), (arm, observed)


def test_the_permanent_control_is_five_percent() -> None:
    arms = assign_arms(IDS, PilotConfig())
    assert set(arms) == {MODEL, CONTROL}
    assert abs(np.mean(arms == CONTROL) - 0.05) < 4 * np.sqrt(0.05 * 0.95 / len(IDS))


def test_an_arm_is_stable_over_months_and_order_and_changes_with_the_salt() -> None:
    first = pd.Series(assign_arms(IDS, PILOT), index=IDS)
    shuffled = np.random.default_rng(1).permutation(IDS)
    again = pd.Series(assign_arms(shuffled, PILOT), index=shuffled)
    assert again.reindex(IDS).equals(first)
    other = assign_arms(
        IDS, PilotConfig(name="p2", salt="pilot-2027", model_share=0.45, rules_share=0.45, control_share=0.1)
    )
    assert 0.3 < np.mean(other != first.to_numpy()) < 0.8  # a new pilot reshuffles
    assert np.all((uniform_of(IDS, "x") >= 0) & (uniform_of(IDS, "x") < 1))


def test_arms_are_unchanged_by_partitions() -> None:
    """Each partition (client id modulo N) hashed on its own gives the arms of the whole month."""
    whole = pd.Series(assign_arms(IDS, PILOT), index=IDS)
    for n in (2, 3, 7):
        parts = [IDS[IDS % n == p] for p in range(n)]
        joined = pd.concat([pd.Series(assign_arms(part, PILOT), index=part) for part in parts])
        assert joined.reindex(IDS).equals(whole)


def test_control_rows_are_flagged_do_not_contact() -> None:
    rng = np.random.default_rng(0)
    ranked = rank_scores(IDS[:5000], rng.random(5000), dt.date(2026, 10, 31), "v", "r")
    keys = pd.DataFrame(
        {"client_id": IDS[:5000], "rules_points": rng.integers(-1, 5, 5000), "rules_turnover": rng.random(5000)}
    )
    listed = add_pilot_columns(ranked, keys, PILOT)
    assert (listed["do_not_contact"] == (listed["arm"] == CONTROL)).all()
    assert sorted(listed["rules_rank"]) == list(range(1, 5001))
    assert set(listed["arm"]) == {MODEL, RULES, CONTROL}


def test_rules_rank_orders_points_then_turnover_then_id() -> None:
    ranks = rules_rank(np.array([5, 4, 3, 2]), np.array([1, 3, 1, 1]), np.array([10.0, 0.0, 10.0, 50.0]))
    assert ranks.tolist() == [4, 1, 3, 2]


def test_the_configuration_file_is_read_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "pilot.json"
    path.write_text(
        json.dumps({"name": "p", "salt": "s", "model_share": 0.4, "rules_share": 0.4, "control_share": 0.2})
    )
    assert load_pilot_config(path).control_share == 0.2
    path.write_text(json.dumps({"model_share": 0.9, "rules_share": 0.4, "control_share": 0.2}))
    with pytest.raises(ConfigError, match="sum to 1"):
        load_pilot_config(path)
    path.write_text(json.dumps({"reason_shap": "exact"}))
    with pytest.raises(ConfigError, match="reason_shap"):
        load_pilot_config(path)
    assert load_pilot_config(None).reason_shap == "approximate"
    path.write_text(json.dumps({"shares": 1}))
    with pytest.raises(ConfigError, match="unknown keys"):
        load_pilot_config(path)
    assert load_pilot_config(None) == PilotConfig()
