# Two entry points: `make demo` (the main job) and `make test`. Both build the venv first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export DEMO_CLIENTS ?= 20000
export DEMO_MONTHS ?= 36
export DEMO_SEED ?= 42

.PHONY: venv lock demo test lint bench clean

# The install is locked: requirements.txt holds every package, transitive ones too, with its hashes
# (made from requirements.in by `make lock`), and pip refuses anything else. --no-deps: the lock is
# complete, so pip installs it as written instead of re-resolving (pip 23's resolver also rejects a
# dependency asked for with extras, celery[redis], against the lock's plain celery line). The project itself goes in
# editable, built by the locked setuptools (no build isolation: nothing unhashed is fetched), then
# `pip check` proves the environment consistent.
$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --no-deps --require-hashes -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	touch $(STAMP)

venv: $(STAMP)

# Re-resolve requirements.in into the hashed lock requirements.txt, with a pinned uv in a venv of its own.
# The lock is for CPython 3.11 on Linux (the machines, CI and the image); commit both files.
UV_VERSION := 0.13.9
LOCK_VENV := .venv-lock
lock:
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet uv==$(UV_VERSION)
	$(LOCK_VENV)/bin/uv pip compile requirements.in --quiet --generate-hashes \
		--python-version 3.11 --python-platform x86_64-manylinux_2_28 \
		--custom-compile-command "make lock" -o requirements.txt

demo: venv
	bash scripts/demo.sh

test: venv
	$(BIN)/python -m pytest

lint: venv
	$(BIN)/python -m ruff check .
	$(BIN)/python -m ruff format --check .

bench: venv
	$(BIN)/python bench/bench_generator.py
	$(BIN)/python bench/bench_snapshot.py
	$(BIN)/python bench/bench_model.py
	$(BIN)/python bench/bench_scoring_dag.py
	$(BIN)/python bench/bench_partitions.py

clean:
	rm -rf $(VENV) $(LOCK_VENV) data build *.egg-info .pytest_cache .ruff_cache
