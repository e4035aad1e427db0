# Two commands: `make run` and `make test`. Everything else is set up by them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench install chromium

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Migrate, load the demo site on first run, serve the API (gunicorn) and run the worker beside it.
run: $(STAMP)
	$(BIN)/vouch run

## The portal's browser tests drive Debian's Chromium (never a Playwright browser download).
chromium:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && \
		{ apt-get install -y chromium || { apt-get update && apt-get install -y chromium; }; }; } || \
		{ echo "The portal's browser tests need Chromium: run 'sudo apt-get install -y chromium'." >&2; exit 1; }

## The whole suite: on SQLite, or on the PostgreSQL that DATABASE_URL names.
test: $(STAMP) chromium
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP)
	$(BIN)/python bench/ingest.py
