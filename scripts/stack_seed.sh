#!/usr/bin/env bash
# First start of the Docker stack (run by its airflow-init service): a synthetic bank in the
# warehouse and a champion model in the registry, each only when it is not there yet, so that a
# restart of the stack keeps the bank, the models and the published lists it already has.
# Sizes come from RKO_SEED_* (small defaults); RKO_SEED_BANK=false skips the whole step.
set -euo pipefail
cd "$(dirname "$0")/.."

CLIENTS=${RKO_SEED_CLIENTS:-5000}
MONTHS=${RKO_SEED_MONTHS:-24}
SEED=${RKO_SEED_RANDOM:-42}
TRAIN_MONTHS=${RKO_SEED_TRAIN_MONTHS:-6}
TEST_MONTHS=${RKO_SEED_TEST_MONTHS:-3}
ITERATIONS=${RKO_SEED_ITERATIONS:-200}

# `python -m` from the project's root: importable whoever runs it (root in airflow-init, the airflow user elsewhere).
rko() { python -m rko_model.cli "$@"; }

if [[ "${RKO_SEED_BANK:-true}" != "true" ]]; then
    echo "RKO_SEED_BANK=${RKO_SEED_BANK}: not seeding the warehouse or the registry"
    exit 0
fi

if latest=$(rko logical-date --report-date latest 2>/dev/null); then
    echo "the warehouse already holds a bank (latest month's scoring run: $latest): not generating"
else
    echo "seeding the warehouse: a synthetic bank of $CLIENTS clients x $MONTHS months (seed $SEED)"
    rko generate --clients "$CLIENTS" --months "$MONTHS" --seed "$SEED"
    rko marts build   # the feature marts of every month; rko_feature_marts keeps them up to date
fi

# The registry is in the artefact store (a bucket in the stack): asked through the CLI, not as a path.
# Exit 3 is "no champion yet"; any other failure (the bucket does not answer, a damaged champion.json)
# stops the seed: training and promoting over a registry that could not be read would hide it.
status=0
champion=$(rko champion) || status=$?
if [[ $status -eq 0 ]]; then
    echo "the registry already has a champion ($champion): not training"
elif [[ $status -eq 3 ]]; then
    echo "training the first model ($TRAIN_MONTHS training and $TEST_MONTHS test months, $ITERATIONS iterations)"
    rko train --no-ablation --no-walk-forward --train-months "$TRAIN_MONTHS" --test-months "$TEST_MONTHS" --iterations "$ITERATIONS"
    rko promote --allow-refusal
else
    echo "rko champion failed (exit $status): the registry could not be read, not training" >&2
    exit "$status"
fi
