# Two entry points: `make demo` (the main job) and `make test`. Both build the venv first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export DEMO_CLIENTS ?= 20000
export DEMO_MONTHS ?= 36
export DEMO_SEED ?= 42

.PHONY: venv demo test lint bench clean

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

venv: $(STAMP)

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
	rm -rf $(VENV) data build *.egg-info .pytest_cache .ruff_cache
