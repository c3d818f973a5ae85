"""Training defaults: the one place the CLI, the retraining DAG and :class:`TrainParams` read them.

Plain constants (no imports), so that a DAG file can read them at parse time for free.
How the model defaults were chosen (a small search over 3 seeds of the synthetic bank) is in
``docs/results/model_defaults.md``; rerun it with ``bench/search_defaults.py``.
"""

from __future__ import annotations

from typing import Final

#: Monthly snapshots stacked for training, and later months of the out-of-time tests.
TRAIN_MONTHS: Final = 12
TEST_MONTHS: Final = 6
#: Cap on trees: high enough that early stopping, not the cap, ends the fit.
ITERATIONS: Final = 3000
LEARNING_RATE: Final = 0.08
DEPTH: Final = 6
L2_LEAF_REG: Final = 5.0
#: Rounds without a better validation AUC before the fit stops.
EARLY_STOPPING_ROUNDS: Final = 100
RANDOM_SEED: Final = 42
#: Share of non-openers kept for fitting (reweighted); 1.0 keeps them all.
NEGATIVE_SHARE: Final = 1.0
#: How the number of trees is chosen: "time" (latest dates held out), "random" (a stratified
#: random holdout) or "kfold" (stratified k folds).
VALIDATION: Final = "time"
VALIDATION_SHARE: Final = 0.15
FOLDS: Final = 5
#: Purged time holdouts (rolling origin) whose mean chooses the tree count; 1: the latest block only.
#: Three steady the count against one block's noise (docs/results/model_defaults.md).
TIME_FOLDS: Final = 3
#: Refit on every training row with the tree count scaled to the larger data.
REFIT: Final = True
#: CatBoost text processing: "default" (CatBoost's own).
TEXT_PROCESSING: Final = "default"
#: Run the one-source-at-a-time ablation in a training run.
ABLATION: Final = True
#: Walk-forward retro tests (frozen vs monthly vs quarterly retraining) in a training run.
WALK_FORWARD: Final = True
#: A best iteration within this share of the cap is reported as "stopped at the cap".
NEAR_CAP_SHARE: Final = 0.05
