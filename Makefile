# Quick start: `make run` and `make test`. Each creates .venv and installs everything it needs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONFIG ?= config/asn-monitor.toml

.PHONY: run test lint typecheck clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/asn-monitor --config $(CONFIG) run --once

test: $(STAMP)
	$(BIN)/ruff check monitor classifiers sources storage tests
	$(BIN)/mypy
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check monitor classifiers sources storage tests

typecheck: $(STAMP)
	$(BIN)/mypy

clean:
	rm -rf $(VENV) data/*.duckdb .pytest_cache .mypy_cache
