# flexsync: the two commands a new user needs are `make demo` and `make test`.
# Each bootstraps .venv from this project's own files; a second run is quick.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SYSTEM_STAMP := $(VENV)/.system-packages
export FLEXSYNC_RAW_ROOT ?= $(CURDIR)/data/raw
export FLEXSYNC_TRUTH_ROOT ?= $(CURDIR)/data/truth
export FLEXSYNC_STORE_ROOT ?= $(CURDIR)/data/store
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: demo test lint ui venv system clean bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

# Debian packages the tests run for real (headless Chromium, PostgreSQL): .ci/system-packages.txt
$(SYSTEM_STAMP): .ci/system-packages.txt $(STAMP)
	.ci/install-system-packages
	touch $(SYSTEM_STAMP)

system: $(SYSTEM_STAMP)

demo: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/flexsync demo --raw "$(FLEXSYNC_RAW_ROOT)" --truth "$(FLEXSYNC_TRUTH_ROOT)" --store "$(FLEXSYNC_STORE_ROOT)"

test: $(STAMP) $(SYSTEM_STAMP)
	$(BIN)/ruff check flexsync tests
	$(BIN)/python -m pytest -n 2 --dist loadfile --durations=15 tests

lint: $(STAMP)
	$(BIN)/ruff check flexsync tests
	$(BIN)/ruff format --check flexsync tests

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml

# Started in the background (`make ui &`), SIGINT arrives ignored and `dagster dev` then ignores
# SIGTERM too (it maps TERM to INT): restore INT so that Ctrl-C and `kill` stop every process.
ui: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	exec env --default-signal=INT $(BIN)/dagster dev -m flexsync.definitions -h 127.0.0.1 -p 3000

bench: $(STAMP)
	$(BIN)/flexsync bench ingest --json bench-results/ingest.json

clean:
	rm -rf data .dagster_home bench-results

# The Dagster instance on PostgreSQL (deploy/dagster-postgres.yaml, docs/deploy.md): a local cluster under
# .pg/ on 127.0.0.1 with trust auth (`make postgres`, `make postgres-stop`); `make ui-postgres` runs the
# webserver and daemon on it, with the decode pool sized to the cores.
PG_DIR := $(CURDIR)/.pg
.PHONY: postgres postgres-stop ui-postgres
postgres: $(STAMP) $(SYSTEM_STAMP)
	$(BIN)/python -m flexsync.pipelines.pgcluster start "$(PG_DIR)"

postgres-stop: $(STAMP)
	$(BIN)/python -m flexsync.pipelines.pgcluster stop "$(PG_DIR)"

ui-postgres: postgres
	mkdir -p "$(PG_DIR)/dagster_home" && cp deploy/dagster-postgres.yaml "$(PG_DIR)/dagster_home/dagster.yaml"
	. "$(PG_DIR)/env" && export DAGSTER_HOME="$(PG_DIR)/dagster_home" && $(BIN)/python -m flexsync.pipelines.pools \
		&& exec env --default-signal=INT $(BIN)/dagster dev -m flexsync.definitions -h 127.0.0.1 -p 3000
