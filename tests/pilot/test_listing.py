"""Reasons computed in the score step: the partitions' targets cover the month's, the list is the same for any N."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from rko_model import columns as col
from rko_model.common.partitions import Partition
from rko_model.pilot import listing
from rko_model.pilot.arms import add_pilot_columns
from rko_model.pilot.config import RULES, PilotConfig
from rko_model.pilot.listing import PARTITION_MARGIN, ReasonRows, partition_targets, reason_targets
from rko_model.runs import monthly
from rko_model.settings import Settings
from rko_model.stages.scoring import rank_scores
from rko_model.synth.spec import BankSpec
from rko_model.warehouse.staging import make_staging_engine, read_published
from tests.conftest import ENGINES
from tests.helpers import champion_bank

PILOT = PilotConfig(name="p1", salt="pilot-2026", model_share=0.45, rules_share=0.45, control_share=0.10)
BANK = BankSpec(n_clients=900, n_months=20, seed=17)
MONTH = dt.date(2026, 10, 31)
REASONS = ["reason_1", "reason_2", "reason_3", "reason_text"]


def _scores(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            col.CLIENT_ID: np.arange(5_000_000, 5_000_000 + n, dtype=np.int64),
            "score": rng.random(n).round(3),  # ties, broken by the lower id as rank_scores does
            "rules_points": rng.integers(0, 6, n),
            "rules_turnover": rng.random(n).round(2),
        }
    )


def _month_targets(scores: pd.DataFrame, config: PilotConfig) -> set[int]:
    ranked = rank_scores(scores[col.CLIENT_ID].to_numpy(), scores["score"].to_numpy(), MONTH, "v", "r")
    listed = add_pilot_columns(ranked, scores.drop(columns="score"), config)
    return set(listed.loc[reason_targets(listed, config), col.CLIENT_ID].tolist())


def test_one_partition_explains_exactly_the_months_targets() -> None:
    scores = _scores(20_000)
    month = _month_targets(scores, PILOT)
    assert set(partition_targets(scores.sample(frac=1.0, random_state=2), PILOT, 1).tolist()) == month
    # the model's top 3 deciles and the rules arm's top 30% by rules rank
    assert 0.3 * len(scores) < len(month) < 0.3 * len(scores) + 0.3 * len(scores) * PILOT.rules_share + 50
    assert partition_targets(scores, replace(PILOT, reason_deciles=0), 1).size == 0


def test_several_partitions_cover_the_months_targets_with_a_small_margin() -> None:
    scores = _scores(60_000, seed=1)
    month = _month_targets(scores, PILOT)
    for n in (2, 3, 7):
        parts = [scores[scores[col.CLIENT_ID] % n == p] for p in range(n)]
        explained = set(np.concatenate([partition_targets(part, PILOT, n) for part in parts]).tolist())
        assert len(month - explained) <= 0.001 * len(month), n
        assert len(explained) <= len(month) * (1 + 1.5 * PARTITION_MARGIN / 0.3), n


def test_rules_arm_rows_are_targets_by_rules_rank() -> None:
    scores = _scores(10_000, seed=3)
    scores["score"] = 0.5  # no model order: the model's top 30% is the 30% lowest ids
    ranked = rank_scores(scores[col.CLIENT_ID].to_numpy(), scores["score"].to_numpy(), MONTH, "v", "r")
    listed = add_pilot_columns(ranked, scores.drop(columns="score"), PILOT)
    targets = reason_targets(listed, PILOT)
    rules = listed["arm"].to_numpy() == RULES
    assert (listed.loc[targets & rules & (listed["rank"] > 3000), "rules_rank"] <= 3000).all()
    assert targets[(listed["rules_rank"] <= 3000).to_numpy() & rules].all()


class _Package:
    """What ReasonRows needs of a package to keep rows: the features' names."""

    spec = type("Spec", (), {"features": ("x",), "numeric": ("x",)})()


def _keep_in_chunks(scores: pd.DataFrame, config: PilotConfig, partitions: int, rows: int) -> ReasonRows:
    kept = ReasonRows(_Package(), config, partitions, rows)  # type: ignore[arg-type]
    frame = scores.assign(x=scores["score"])
    for start in range(0, len(frame), 1_000):
        chunk = frame.iloc[start : start + 1_000]
        ids, matrix = chunk[col.CLIENT_ID].to_numpy(), chunk[["x"]]
        kept.add(ids, matrix, chunk["score"].to_numpy(), chunk[["rules_points", "rules_turnover"]])
    return kept


def _explained_ids(monkeypatch: pytest.MonkeyPatch, scores: pd.DataFrame) -> list[tuple[str, list[int]]]:
    """Record which client ids the score step explains from kept rows and from the snapshot file."""
    calls: list[tuple[str, list[int]]] = []

    def from_rows(package, rows, config, prepared=False):  # type: ignore[no-untyped-def]
        assert prepared and list(rows.columns) == [col.CLIENT_ID, "x"]  # the model matrix kept, with the ids
        assert np.array_equal(rows["x"].to_numpy(), scores.set_index(col.CLIENT_ID).loc[rows[col.CLIENT_ID], "score"])
        calls.append(("kept", rows[col.CLIENT_ID].tolist()))
        return rows[[col.CLIENT_ID]]

    def from_file(package, paths, ids, config):  # type: ignore[no-untyped-def]
        calls.append(("file", list(ids)))
        return pd.DataFrame({col.CLIENT_ID: ids})

    monkeypatch.setattr(listing, "_explain", from_rows)
    monkeypatch.setattr(listing, "explain_rows", from_file)
    return calls


@pytest.mark.parametrize("order", ["random", "best first", "worst first", "rules' best last"])
@pytest.mark.parametrize("partitions", [1, 3])
def test_the_rows_kept_while_scoring_hold_every_target_in_any_row_order(
    order: str, partitions: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A target is within the running top when its chunk is scored, whatever came before it: none is reread."""
    scores = _scores(20_000, seed=4)
    if order == "best first":
        scores = scores.sort_values("score", ascending=False)
    elif order == "worst first":
        scores = scores.sort_values("score")
    elif order == "rules' best last":
        scores = scores.sort_values(["rules_points", "rules_turnover"])
    elif order == "random":
        scores = scores.sample(frac=1.0, random_state=5)
    scores = scores.reset_index(drop=True)
    kept = _keep_in_chunks(scores, PILOT, partitions, len(scores))
    targets = partition_targets(scores, PILOT, partitions)
    k = int(0.3 * len(scores) + PARTITION_MARGIN * len(scores) * (partitions > 1)) + 1
    assert kept.kept <= 2 * 2 * k + 1_000  # the model's and the rules' running tops, and a chunk
    calls = _explained_ids(monkeypatch, scores)
    reasons = kept.reasons(scores, "unused.parquet")
    assert [source for source, _ in calls] == ["kept"]  # nothing read from the snapshot file
    assert sorted(calls[0][1]) == sorted(targets.tolist()) == sorted(reasons[col.CLIENT_ID].tolist())
    assert kept.keep_seconds > 0


def test_targets_not_kept_are_read_from_the_snapshot(monkeypatch: pytest.MonkeyPatch) -> None:
    """Told fewer rows than it scores, the step keeps too few: the rest come from the file, the set is the same."""
    scores = _scores(10_000, seed=6).sort_values("score").reset_index(drop=True)  # the best come last
    kept = _keep_in_chunks(scores, PILOT, 1, 2_000)
    calls = _explained_ids(monkeypatch, scores)
    reasons = kept.reasons(scores, "snapshot.parquet")
    assert [source for source, _ in calls] == ["kept", "file"]
    targets = partition_targets(scores, PILOT, 1)
    assert sorted(calls[0][1] + calls[1][1]) == sorted(targets.tolist()) == sorted(reasons[col.CLIENT_ID].tolist())


def test_without_reasons_nothing_is_kept() -> None:
    kept = _keep_in_chunks(_scores(5_000), replace(PILOT, reason_deciles=0), 1, 5_000)
    assert kept.kept == 0 and kept.keep_seconds == 0


@pytest.fixture(scope="module", params=ENGINES)
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    folder = tmp_path_factory.mktemp(f"listing-{request.param}")
    with champion_bank(request.param, folder, BANK) as settings:
        config = folder / "pilot.json"
        config.write_text(
            json.dumps({"name": "p1", "salt": "s", "model_share": 0.5, "rules_share": 0.4, "control_share": 0.1})
        )
        yield replace(settings, pilot_config_path=config)


def _published(settings: Settings) -> pd.DataFrame:
    return read_published(make_staging_engine(settings.staging_url), MONTH).sort_values(col.CLIENT_ID)


def _run(settings: Settings, run_id: str, partitions: int, *, reasons_in_score: bool = True) -> dict:
    """The month's steps by hand; ``reasons_in_score`` False drops the score steps' reasons (an older worker)."""
    scored, validated = [], []
    for ref in monthly.plan(settings, partitions):
        partition = Partition(ref["partition"], ref["partitions"])
        extracted = monthly.extract(settings, MONTH, run_id, partition)
        validated.append(monthly.validate(settings, MONTH, run_id, extracted))
        scored.append(monthly.score(settings, MONTH, run_id, validated[-1], ref["model_version"]))
    if not reasons_in_score:
        scored = [{k: v for k, v in ref.items() if not k.startswith("reasons_")} for ref in scored]
    else:
        assert all(ref["reasons_rows"] > 0 and ref["reasons_path"].endswith(".parquet") for ref in scored)
    return monthly.publish(settings, MONTH, run_id, scored, validated=validated)


def test_reasons_from_the_score_step_give_the_list_of_any_partitioning(stack: Settings) -> None:
    one = _run(stack, "one-partition", 1)
    assert one["pilot"]["reasons_publish_rows"] == 0  # one partition: its ranking is the month's, nothing left
    single = _published(stack)
    top = single["decile"] <= 3
    assert single.loc[top, "reason_1"].notna().all()
    assert single.loc[~top & (single["arm"] != RULES), REASONS].isna().all().all()
    assert one["pilot"]["reasons_rows"] == int(single["reason_text"].notna().sum())

    three = _run(stack, "three-partitions", 3)
    assert three["pilot"]["reasons_publish_rows"] <= 0.02 * one["pilot"]["reasons_rows"]
    pd.testing.assert_frame_equal(_published(stack)[REASONS], single[REASONS])

    publish_only = _run(stack, "publish-only", 2, reasons_in_score=False)
    assert publish_only["pilot"]["reasons_publish_rows"] == one["pilot"]["reasons_rows"]
    pd.testing.assert_frame_equal(_published(stack)[REASONS], single[REASONS])
