# Orderflow build/run/test entry points (GNU make).
# Every target is safe to re-run: stamp files make sure only missing or
# out-of-date pieces are (re)installed.

SHELL := /bin/bash

VENV    = .venv
PY      = $(VENV)/bin/python
HOST   ?= 127.0.0.1
PORT   ?= 5000
PYTEST_ARGS ?=
CHROMIUM ?= /usr/bin/chromium

export FLASK_APP=app

VENV_STAMP   = $(VENV)/.installed
DEV_STAMP    = $(VENV)/.installed-dev
RUN_LOCK     = requirements/run.lock
DEV_LOCK     = requirements/dev.lock
NODE_STAMP   = node_modules/.installed
VENDOR_DIR   = orderflow/static/vendor
VENDOR_STAMP = $(VENDOR_DIR)/.built
# the page modules and what they import (the folders too: a file added or removed rebuilds)
APP_JS_SRC   = $(shell find orderflow/static/src -type d -o -type f \( -name '*.js' -o -name '*.json' \) 2>/dev/null)

TRANSLATIONS_DIR = orderflow/translations
PO_FILES = $(wildcard $(TRANSLATIONS_DIR)/*/LC_MESSAGES/messages.po)
MO_FILES = $(PO_FILES:.po=.mo)

# Browser tests: `make test` makes sure chromium is present unless
# ORDERFLOW_BROWSER_TESTS=0 (the tests skip themselves without it).
TEST_PREREQS = setup dev
ifneq ($(ORDERFLOW_BROWSER_TESTS),0)
TEST_PREREQS += browser
endif

.PHONY: setup python dev node vendor translations browser postgres run test test-sqlite test-postgres lint lock bench load clean help
.DEFAULT_GOAL := setup

help:
	@echo "make setup   - venv + the pinned runtime (requirements/run.lock), npm ci, vendor assets, translations"
	@echo "make run     - setup, init-db, deploy, seed-demo, demo orders (once), flask run on $(HOST):$(PORT)"
	@echo "make test    - setup (+ chromium unless ORDERFLOW_BROWSER_TESTS=0), pytest \$$PYTEST_ARGS on SQLite and,"
	@echo "               side by side, on a throwaway PostgreSQL cluster unless ORDERFLOW_POSTGRES_TESTS=0 (browser"
	@echo "               tests in the SQLite pass only, tests that use no database in the PostgreSQL pass only)"
	@echo "               (TEST_PASSES=sequential: one after the other)"
	@echo "make lint    - ruff, mypy (installs the pinned test and lint tools, requirements/dev.lock), then ESLint (npm run lint)"
	@echo "make lock    - re-pin requirements/*.lock from pyproject.toml (UPGRADE=1 to move to newer versions)"
	@echo "make bench   - setup, bench/throughput.py"
	@echo "make load    - setup, bench/load.py \$$LOAD_ARGS: real gunicorn servers over HTTP on SQLite and PostgreSQL (minutes)"
	@echo "make clean   - remove .venv, node_modules, vendor assets, .mo files, instance/*.sqlite*"

setup: python node vendor translations

python: $(VENV_STAMP)
node: $(NODE_STAMP)
vendor: $(VENDOR_STAMP)

# --- Python -------------------------------------------------------------
# Versions come from the lock files, so every machine runs what was tested; the package itself is
# installed editable without dependencies. Re-install when top-level packages appear (the editable
# finder maps them at install time).
$(VENV_STAMP): pyproject.toml $(RUN_LOCK) $(wildcard orderflow/__init__.py handlers/__init__.py)
	@if ! $(PY) -m pip --version >/dev/null 2>&1; then \
	  echo "==> creating $(VENV)"; \
	  python3 -m venv $(VENV); \
	fi
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install -r $(RUN_LOCK)
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $@

# the test and lint tools, only for `make test` and `make lint` (not `make run`)
dev: $(DEV_STAMP)
$(DEV_STAMP): $(VENV_STAMP) $(DEV_LOCK)
	$(PY) -m pip install -r $(DEV_LOCK)
	@touch $@

# uv resolves; pip installs (the locks are plain requirement files). Existing pins are kept unless UPGRADE=1.
lock: $(VENV_STAMP)
	@$(PY) -m uv --version >/dev/null 2>&1 || $(PY) -m pip install --quiet uv
	$(PY) -m uv pip compile pyproject.toml -o $(RUN_LOCK) --python-version 3.11 --no-header \
	  --annotation-style line $(if $(UPGRADE),--upgrade)
	$(PY) -m uv pip compile pyproject.toml --extra test --extra lint -c $(RUN_LOCK) -o $(DEV_LOCK) \
	  --python-version 3.11 --no-header --annotation-style line $(if $(UPGRADE),--upgrade)

# --- Node / front-end assets --------------------------------------------
$(NODE_STAMP): package-lock.json package.json
	npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

# vendor/: third-party files copied from node_modules/, and the page modules of orderflow/static/src/
# bundled by esbuild into vendor/app/ (tools/build-vendor.mjs)
$(VENDOR_STAMP): $(NODE_STAMP) tools/build-vendor.mjs $(APP_JS_SRC)
	npm run build
	@touch $@

# --- Translations (.mo files are build output, not committed) -----------
translations: $(MO_FILES)

$(TRANSLATIONS_DIR)/%/LC_MESSAGES/messages.mo: $(TRANSLATIONS_DIR)/%/LC_MESSAGES/messages.po | $(VENV_STAMP)
	$(VENV)/bin/pybabel compile -d $(TRANSLATIONS_DIR) -l $*
	@test -f $@ || echo "WARNING: $@ was not written (catalog marked '#, fuzzy'? remove that flag from the header)" >&2

# --- System Chromium for Playwright browser tests -----------------------
browser:
	@if [ -x "$(CHROMIUM)" ]; then \
	  :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  echo "==> $(CHROMIUM) missing; installing Debian chromium"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-liberation; \
	else \
	  echo "NOTICE: $(CHROMIUM) not found and not running as root;" \
	       "browser tests will be skipped (install with: sudo apt-get install chromium)"; \
	fi

# --- Entry points -------------------------------------------------------
run: setup
	$(VENV)/bin/flask init-db
	$(VENV)/bin/flask deploy
	$(VENV)/bin/flask seed-demo
	$(VENV)/bin/flask simulate --orders 60 --if-empty
	FLASK_RUN_HOST=$(HOST) FLASK_RUN_PORT=$(PORT) $(VENV)/bin/flask run

# The whole suite on SQLite, then again on a throwaway PostgreSQL cluster (Debian's postgresql
# package; installed here when missing and running as root) unless ORDERFLOW_POSTGRES_TESTS=0.
# Tests whose outcome cannot depend on the pass's database run in one pass only (marks set by
# tests/conftest.py): the browser tests in the SQLite pass (what they check, layout, scripts, keys,
# does not depend on the database; every page's queries and template are rendered on both databases by
# tests/test_every_page.py), the tests that reach no database at all in the PostgreSQL pass.
PG_TEST_DIR  ?= /tmp/orderflow-pg-test-$(shell id -u)
PG_TEST_PORT ?= 55432
PG_PASS_ARGS ?= -m "not browser"
# The SQLite pass checks every reuse of a kept live workflow against its stored state (tests/conftest.py
# turns ORDERFLOW_WORKFLOW_CACHE_VERIFY on; what it compares is the engine's text, the same on either
# database); the PostgreSQL pass runs the cache as production does.
PG_PASS_ENV ?= ORDERFLOW_WORKFLOW_CACHE_VERIFY=0
SQLITE_PASS_ARGS ?= -m "not without_database"

# The two passes run side by side (one pytest each: the suite is single-threaded, the machine has two
# cores): the SQLite pass writes to $(PG_TEST_DIR)-sqlite.log, shown when it ends; the PostgreSQL pass
# prints as it goes. TEST_PASSES=sequential runs them one after the other as before.
TEST_PASSES ?= parallel

ifeq ($(ORDERFLOW_POSTGRES_TESTS),0)
test: $(TEST_PREREQS)
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)
else ifeq ($(TEST_PASSES),sequential)
test: $(TEST_PREREQS)
	$(VENV)/bin/python -m pytest $(SQLITE_PASS_ARGS) $(PYTEST_ARGS)
	$(MAKE) --no-print-directory test-postgres
else
test: $(TEST_PREREQS) postgres
	@url=$$(tools/pg-test-cluster.sh start $(PG_TEST_DIR) $(PG_TEST_PORT)) || exit 1; \
	  log=$(PG_TEST_DIR)-sqlite.log; \
	  echo "==> the suite on SQLite (output in $$log) and on PostgreSQL ($$url) side by side"; \
	  $(VENV)/bin/python -m pytest $(SQLITE_PASS_ARGS) $(PYTEST_ARGS) >$$log 2>&1 & sqlite=$$!; \
	  pg=0; ORDERFLOW_TEST_POSTGRES_URL=$$url $(PG_PASS_ENV) $(VENV)/bin/python -m pytest $(PG_PASS_ARGS) $(PYTEST_ARGS) || pg=$$?; \
	  lite=0; wait $$sqlite || lite=$$?; \
	  tools/pg-test-cluster.sh stop $(PG_TEST_DIR); \
	  echo "==> the SQLite pass ($$log)"; cat $$log; \
	  echo "==> SQLite pass: exit $$lite; PostgreSQL pass: exit $$pg"; \
	  [ $$lite = 0 ] && [ $$pg = 0 ]
endif

test-sqlite: $(TEST_PREREQS)
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

test-postgres: $(TEST_PREREQS) postgres
	@url=$$(tools/pg-test-cluster.sh start $(PG_TEST_DIR) $(PG_TEST_PORT)) || exit 1; \
	  echo "==> the suite again on PostgreSQL ($$url)"; \
	  status=0; ORDERFLOW_TEST_POSTGRES_URL=$$url $(PG_PASS_ENV) $(VENV)/bin/python -m pytest $(PG_PASS_ARGS) $(PYTEST_ARGS) || status=$$?; \
	  tools/pg-test-cluster.sh stop $(PG_TEST_DIR); exit $$status

postgres:
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  echo "==> PostgreSQL server missing; installing Debian postgresql"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql; \
	else \
	  echo "ERROR: the PostgreSQL server is not installed (sudo apt-get install postgresql)," \
	       "or run the SQLite suite alone: make test ORDERFLOW_POSTGRES_TESTS=0" >&2; exit 1; \
	fi

lint: setup dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	npm run lint

bench: setup
	$(PY) bench/throughput.py

# minutes, not seconds: gunicorn on SQLite and on a throwaway PostgreSQL cluster, 1 and 2 workers,
# 1, 2 and 8 clients, both diagrams (LOAD_ARGS='--orders 10 --db sqlite' for a quick look)
LOAD_ARGS ?=
load: setup
	$(PY) bench/load.py $(LOAD_ARGS)

clean:
	rm -rf $(VENV) node_modules $(VENDOR_DIR)
	rm -f instance/*.sqlite* $(MO_FILES)
