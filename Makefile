# Quick start: `make run` and `make test`. Each creates .venv and installs everything it needs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONFIG ?= config/asn-monitor.toml

.PHONY: run test lint typecheck audit clean system-deps

$(STAMP): pyproject.toml
	@echo "Installing asn-monitor and its dependencies into $(VENV) (a few minutes the first time)..."
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install --progress-bar on -e '.[test]'
	@echo "Installed."
	touch $(STAMP)

# Chromium (evidence cards, digest rendering checks, intake archiving), tmux (interactive
# review test), openssl (test TSA) and Tesseract with its Indonesian data (OCR of reported
# screenshots) come from Debian; installed once when missing, as root or through sudo.
SYSTEM_STAMP := $(VENV)/.system-deps
$(SYSTEM_STAMP):
	@if ! command -v chromium >/dev/null || ! command -v tmux >/dev/null || ! command -v openssl >/dev/null || \
	    ! command -v tesseract >/dev/null || [ ! -e /usr/share/tesseract-ocr/5/tessdata/ind.traineddata ]; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver tmux openssl tesseract-ocr tesseract-ocr-ind >/dev/null; \
	fi
	mkdir -p $(VENV) && touch $(SYSTEM_STAMP)

system-deps: $(SYSTEM_STAMP)

run: $(STAMP)
	@echo "One collection cycle over the sample (the first one trains the default model, about 20 s)..."
	$(BIN)/asn-monitor --config $(CONFIG) run --once

test: $(STAMP) $(SYSTEM_STAMP)
	$(BIN)/ruff check monitor classifiers sources storage tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m monitor.depaudit
	$(BIN)/pytest -q

# pip-audit over the venv: fails on a known vulnerability; warns loudly (and passes) when the
# package index has no vulnerability data or cannot be reached. Bounded to 3 minutes.
audit: $(STAMP)
	$(BIN)/python -m monitor.depaudit

lint: $(STAMP)
	$(BIN)/ruff check monitor classifiers sources storage tests bench
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

clean:
	rm -rf $(VENV) data/*.duckdb .pytest_cache .mypy_cache
