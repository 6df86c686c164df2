# Two commands matter: `make run` (the whole stack on 127.0.0.1) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask
PYBABEL := $(VENV)/bin/pybabel
CATALOGS := shared/translations portal/translations diary_service/translations

.PHONY: run test lint format install install-test translations i18n-update migrate seed browser screenshots bench drill drill-short clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

$(VENV)/.installed-drill: $(VENV)/.installed-test pyproject.toml
	$(PY) -m pip install --quiet -e '.[test,drill]'
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

## Compile the translation catalogs (the .mo files are build output, never committed).
translations: install
	@for dir in $(CATALOGS); do \
	  if [ -n "$$(find $$dir -name '*.po' 2>/dev/null)" ]; then $(PYBABEL) -q compile -d $$dir || exit 1; fi; \
	done

## After adding or changing user-facing strings: refresh the catalogs, then translate.
i18n-update: install
	@for pkg in shared portal diary_service; do \
	  $(PYBABEL) -q extract -F config/babel.cfg -k _l -k lazy_gettext -k gettext -k _ \
	    --add-comments=TRANSLATORS: --project=gosdiary --no-wrap -o /tmp/gosdiary-$$pkg.pot $$pkg || exit 1; \
	  $(PYBABEL) -q update -i /tmp/gosdiary-$$pkg.pot -d $$pkg/translations -l ru \
	    --init-missing --no-wrap --ignore-obsolete --no-fuzzy-matching --ignore-pot-creation-date || exit 1; \
	done

## Two regional diaries: the second is `flask --app diary_service` with the settings
## shared/devstack.py gives it (its own database, address, client, cookie and keys).
migrate: install translations
	$(FLASK) --app portal db upgrade -d portal/migrations
	$(FLASK) --app portal.simulator db upgrade -d portal/simulator/migrations
	$(FLASK) --app diary_service db upgrade -d diary_service/migrations
	$(PY) -m shared.devstack region2 db upgrade -d diary_service/migrations

## Demo data (idempotent: `make run` calls it every time; refused in production).
seed: migrate
	$(FLASK) --app portal.simulator population generate
	$(FLASK) --app portal seed
	$(FLASK) --app diary_service seed --scale small --region 1
	$(PY) -m shared.devstack region2 seed --scale small --region 2
	$(FLASK) --app diary_service reports recompute --if-empty
	$(PY) -m shared.devstack region2 reports recompute --if-empty

run: seed
	$(PY) -m shared.devstack

## Debian's Chromium for the end-to-end tests (Playwright drives it; no browser download),
## and axe-core (package.json, pinned in package-lock.json), which they inject into pages.
browser: node_modules/.installed
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "end-to-end tests need Debian's chromium: sudo apt-get install chromium" >&2; exit 1; fi; }

node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq npm >/dev/null; \
	  else echo "browser tests need npm for axe-core: sudo apt-get install npm" >&2; exit 1; fi; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

## The browser journeys at 390 and 1366 px, saving each page's picture into
## docs/screenshots/<width>/ (committed, linked from the README).
screenshots: install-test translations browser
	SCREENSHOTS=1 $(PY) -m pytest -p no:cacheprovider -q tests/e2e -m screens

## The portal under gunicorn: SSO, password sign-ins and refresh grants over HTTP (a
## throwaway SQLite database, or PORTAL_DATABASE_URL); then a region of BENCH_SCHOOLS
## schools seeded into a throwaway SQLite database (or DIARY_DATABASE_URL) and the
## diary's heaviest queries timed; then the diary's pages under gunicorn, signed in, on
## a region of BENCH_SCHOOLS schools (tests/bench/bench_pages.py).
BENCH_SCHOOLS ?= 20
BENCH_SECONDS ?= 10
bench: install-test translations
	$(PY) -m tests.bench.bench_portal --seconds $(BENCH_SECONDS)
	$(PY) -m tests.bench.bench_diary --schools $(BENCH_SCHOOLS)
	$(PY) -m tests.bench.bench_pages --schools $(BENCH_SCHOOLS)

## The September 1 drill (issue 15, tests/drill/run.py): the production shape on
## 127.0.0.1 with its OWN PostgreSQL cluster and Redis (temporary, free ports: faults never
## touch the machine's), the portal and a diary under gunicorn, Celery workers and beats,
## the simulator; a seeded region; Locust's morning storm, then each fault on its own run;
## a table of requests, errors, percentiles and acknowledged/found/lost writes. Scale it
## with DRILL_PARENTS (10000), DRILL_TEACHERS (300), DRILL_MINUTES (10 per scenario),
## DRILL_SCHOOLS (0: the small region), DRILL_SCENARIOS (all).
drill: $(VENV)/.installed-drill translations
	$(PY) -m tests.drill.run

## The CI's short drill: a few hundred parents, one fault, under 3 minutes of load.
drill-short: $(VENV)/.installed-drill translations
	DRILL_PARENTS=$${DRILL_PARENTS:-300} DRILL_TEACHERS=$${DRILL_TEACHERS:-20} \
	DRILL_MINUTES=$${DRILL_MINUTES:-2.5} DRILL_SCENARIOS=$${DRILL_SCENARIOS:-pg-restart} \
	  $(PY) -m tests.drill.run

## The suite runs on every core (pytest-xdist; each worker has its own databases).
PYTEST_WORKERS ?= auto
test: install-test translations browser
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

lint: install-test
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

format: install-test
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
	find . -name '*.mo' -delete
