# dialvault — `make run` serves a local vault, `make test` runs every check.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
DIALVAULT_HOME ?= $(CURDIR)/.dialvault
export DIALVAULT_HOME

.PHONY: run test lint typecheck unit unit-sqlite unit-postgres bench bench-quick clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# First run: a random passphrase goes to a 0600 file (set DIALVAULT_PASSPHRASE to use your own),
# the vault is initialized and the first admin key is written to $(DIALVAULT_HOME)/admin.key.
run: $(VENV)/.installed
	@mkdir -p "$(DIALVAULT_HOME)" && chmod 700 "$(DIALVAULT_HOME)"
	@if [ -z "$$DIALVAULT_PASSPHRASE" ] && [ ! -f "$(DIALVAULT_HOME)/passphrase" ]; then \
		umask 077 && $(BIN)/python -c "import secrets; print(secrets.token_urlsafe(32))" > "$(DIALVAULT_HOME)/passphrase"; \
		echo "generated a passphrase in $(DIALVAULT_HOME)/passphrase (set DIALVAULT_PASSPHRASE in production)"; \
	fi
	@if [ -z "$$DIALVAULT_PASSPHRASE" ]; then export DIALVAULT_PASSPHRASE_FILE="$(DIALVAULT_HOME)/passphrase"; fi; \
		$(BIN)/dialvault serve --init-if-missing --host 127.0.0.1 --port 8000

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy

# The whole suite on SQLite (plus tests/postgres and tests/openbao, which start their own throwaway
# servers), then every test that uses the store again on PostgreSQL. Skips are listed (-ra); with
# CI=true a missing postgres or bao binary fails instead of skipping.
unit: unit-sqlite unit-postgres

unit-sqlite: $(VENV)/.dev-installed
	$(BIN)/pytest -ra --store=sqlite

unit-postgres: $(VENV)/.dev-installed
	$(BIN)/pytest -ra --store=postgres

test: lint typecheck unit

bench: $(VENV)/.dev-installed
	$(BIN)/python -m bench

bench-quick: $(VENV)/.dev-installed
	$(BIN)/python -m bench --quick

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
