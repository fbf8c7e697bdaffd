# The README's two commands: `make demo` and `make test`. Both work on a fresh machine with Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres

.PHONY: demo test lint typecheck deploy-check test-sqlite test-postgres bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("civicpulse needs Python 3.11 or newer" if sys.version_info < (3, 11) else 0)'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/civicpulse db upgrade
	$(BIN)/civicpulse seed demo
	$(BIN)/civicpulse serve

test: lint typecheck deploy-check test-sqlite test-postgres

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy core api bot civicpulse_cli.py

deploy-check: $(STAMP)
	scripts/check-deploy-files

test-sqlite: $(STAMP)
	@echo "== test suite on SQLite =="
	env -u CIVICPULSE_TEST_DATABASE_URL $(BIN)/pytest

# A fresh PostgreSQL database is created for the run and dropped after (tests/conftest.py).
# Without a reachable server the pass is skipped and says so; REQUIRE_POSTGRES=1 turns that into a failure.
test-postgres: $(STAMP)
	@echo "== test suite on PostgreSQL =="
	@url="$${CIVICPULSE_TEST_DATABASE_URL:-$(PG_TEST_URL)}"; \
	if $(BIN)/python scripts/db-reachable "$$url"; then \
		CIVICPULSE_TEST_DATABASE_URL="$$url" $(BIN)/pytest; \
	elif [ "$${REQUIRE_POSTGRES:-0}" = "1" ]; then \
		echo "PostgreSQL pass FAILED: no server at $$url (REQUIRE_POSTGRES=1)"; exit 1; \
	else \
		echo "PostgreSQL pass SKIPPED: no server at $$url (set CIVICPULSE_TEST_DATABASE_URL)"; \
	fi

# BENCH_ARGS=--quick for a smoke run; BENCH_PG=off for SQLite only (see bench/README.md).
bench: $(STAMP)
	PYTHON=$(BIN)/python bash bench/run_all.sh $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache dist build *.egg-info
