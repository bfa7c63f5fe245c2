# OpenInvoice Customers: one entry point for every routine task.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DB ?= $(CURDIR)/demo.sqlite3
DEMO_CUSTOMERS ?= 2000
PYTEST_ARGS ?=

.PHONY: install run demo test check lint format typecheck contracts bench fuzz screenshots clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

$(DEMO_DB): | $(STAMP)
	$(BIN)/openinvoice --db sqlite:///$(DEMO_DB) demo --customers $(DEMO_CUSTOMERS) --seed 42

demo: $(DEMO_DB)

run: $(STAMP) $(DEMO_DB)
	$(BIN)/openinvoice --db sqlite:///$(DEMO_DB)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=explore $(BIN)/python -m pytest -m "not postgres" -k "not snapshot" $(PYTEST_ARGS) $$(grep -l "@given" tests/*.py)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(STAMP)
	$(BIN)/mypy

contracts: $(STAMP)
	$(BIN)/lint-imports

check: lint typecheck contracts test

bench: $(STAMP)
	$(BIN)/python -m tests.bench.run_all

# screenshots come from their own demo database at a fixed D, so they are reproducible
SHOTS_DB := $(CURDIR)/bench-data/screenshots.sqlite3
SHOTS_AS_OF := 2026-06-30

$(SHOTS_DB): | $(STAMP)
	mkdir -p $(dir $(SHOTS_DB))
	$(BIN)/openinvoice --db sqlite:///$(SHOTS_DB) --as-of $(SHOTS_AS_OF) demo --customers $(DEMO_CUSTOMERS) --seed 42

screenshots: $(STAMP) $(SHOTS_DB)
	OPENINVOICE_AS_OF=$(SHOTS_AS_OF) $(BIN)/python -m tests.bench.screenshots --db sqlite:///$(SHOTS_DB) --out docs/screenshots

clean:
	rm -rf $(VENV) $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm
