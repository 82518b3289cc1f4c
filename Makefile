.DEFAULT_GOAL := help
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TEST_WORKERS ?= 2

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,embedded]'
	@touch $(STAMP)

install: $(STAMP) graphiql ## Create the virtual environment and install the project

graphiql: $(STAMP) ## Fetch GraphiQL's pinned files into .graphiql/ if missing (npm pack, integrity checked)
	@$(PY) -m app.graphiql.fetch

run: $(STAMP) graphiql ## Run the service for development (embedded PostgreSQL unless DATABASE_URL is set)
	INTROSPECTION=$${INTROSPECTION:-public} GRAPHIQL=$${GRAPHIQL:-on} \
		CORS_ORIGINS=$${CORS_ORIGINS-http://localhost:*} METRICS=$${METRICS:-on} $(VENV)/bin/credit-ledger serve

stop-db: $(STAMP) ## Stop the embedded PostgreSQL that `make run` left running
	$(PY) -m app.db.embedded stop

test: $(STAMP) graphiql pgbouncer chromium http-audit clients ## Run the whole test suite against a real PostgreSQL
	$(PY) -m pytest -n $(TEST_WORKERS)
	@echo "The end-to-end tests again on Strawberry's stock pipeline (FAST_EXECUTION=0):"
	FAST_EXECUTION=0 $(PY) -m pytest -q -n $(TEST_WORKERS) tests/e2e

pgbouncer: ## Install Debian's PgBouncer if missing (part of the suite runs through it)
	@if [ -x /usr/sbin/pgbouncer ] || command -v pgbouncer >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q pgbouncer >/dev/null || \
		{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q pgbouncer >/dev/null; }; \
	else echo "PgBouncer is not installed (apt-get install pgbouncer): its tests will be skipped"; fi

chromium: ## Install Debian's Chromium and poppler-utils if missing (receipts, GraphiQL offline, CORS tests)
	@if command -v chromium >/dev/null && command -v pdftotext >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium poppler-utils >/dev/null || \
		{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium poppler-utils >/dev/null; }; \
	else echo "Chromium is not installed (apt-get install chromium poppler-utils): its test will be skipped"; fi

http-audit: ## Install graphql-http's GraphQL-over-HTTP audit (npm ci) if missing; a test runs it
	@if [ -d tests/http_audit/node_modules/graphql-http ]; then :; \
	elif command -v npm >/dev/null; then npm ci --prefix tests/http_audit --no-audit --no-fund; \
	else echo "npm is not installed: the GraphQL-over-HTTP audit will be skipped"; fi

CLIENT_VENV := clients/python/.venv

$(CLIENT_VENV)/.installed: clients/python/requirements.txt
	@test -x $(CLIENT_VENV)/bin/python || python3 -m venv $(CLIENT_VENV)
	$(CLIENT_VENV)/bin/pip install --quiet -r clients/python/requirements.txt
	@touch $@

clients: $(CLIENT_VENV)/.installed ## Install the client recipes' generators (docs/clients.md): ariadne-codegen, graphql-codegen (npm ci)
	@if [ -d clients/typescript/node_modules/@graphql-codegen/cli ]; then :; \
	elif command -v npm >/dev/null; then npm ci --prefix clients/typescript --no-audit --no-fund --loglevel=error; \
	else echo "npm is not installed: the TypeScript client recipe's test will be skipped"; fi

lint: $(STAMP) ## ruff and mypy (strict on app/)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(STAMP) ## Apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

schema: $(STAMP) ## Rewrite schema.graphql from the code
	$(VENV)/bin/credit-ledger export-schema > schema.graphql

bench: $(STAMP) ## Load the service over HTTP vs pgbench (BENCH_WORKLOADS, BENCH_SECONDS; bench/README.md)
	$(PY) -m bench.run

.PHONY: help install graphiql run stop-db test pgbouncer chromium http-audit clients lint format schema bench
