# newsfold: `make run` and `make test` set everything up on a machine with Python 3.11 and make.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
INPUT ?= data/raw
OUTPUT ?= data/processed

# Prefect writes its state here instead of ~/.prefect; analytics off, generous server start-up.
export PREFECT_HOME ?= $(CURDIR)/.prefect
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 180
export NUMBA_CACHE_DIR ?= $(CURDIR)/.numba_cache

.PHONY: setup run test lint bench eval clean

setup: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=23.2"
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python flows/newsfold_flow.py --input $(INPUT) --output $(OUTPUT)

lint: $(STAMP)
	$(BIN)/ruff check src flows tests bench
	$(BIN)/ruff format --check src flows tests bench
	$(BIN)/mypy

test: lint
	home=$$(mktemp -d) && PREFECT_HOME=$$home $(BIN)/pytest -q; status=$$?; rm -rf "$$home"; exit $$status

bench: $(STAMP)
	$(BIN)/pip install --quiet -r requirements-bench.lock
	$(BIN)/python bench/run_bench.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .prefect .numba_cache data/processed/* .pytest_cache .mypy_cache .ruff_cache
