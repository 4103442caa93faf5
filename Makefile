# Custody — two commands for a new user: `make run` and `make test`.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: run test test-postgres test-browser test-scaleout fuzz chaos install install-dev frontend migrate demo lint fmt lock messages clean serve worker

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.lock pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.installed-dev: requirements-dev.lock $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.lock
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed node_modules/.installed
install-dev: install $(VENV)/.installed-dev

frontend: node_modules/.installed

migrate: install
	$(BIN)/custody migrate --no-input -v 0

## make demo: load the demo data set (once) and print the demo logins
demo: migrate
	$(BIN)/custody demo-data

## make run: install, migrate, load demo data once, start the worker and serve on http://$(HOST):$(PORT)
run: migrate
	@$(BIN)/custody demo-data -v 0
	@$(BIN)/custody demo-data --logins
	@echo "Custody       http://$(HOST):$(PORT)/"
	@echo "API docs      http://$(HOST):$(PORT)/api/docs"
	@echo "Django admin  http://$(HOST):$(PORT)/django-admin/"
	@echo "The worker logs to var/worker.log. Ctrl+C stops the server and the worker."
	@echo ""
	@$(BIN)/custody worker >> var/worker.log 2>&1 & worker=$$!; \
	  trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT; \
	  $(BIN)/custody serve --host $(HOST) --port $(PORT)

serve: install
	$(BIN)/custody serve --host $(HOST) --port $(PORT)

worker: install
	$(BIN)/custody worker

## make test: install everything tests need and run the whole suite (SQLite unless DATABASE_URL is set)
test: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	bash .ci/pdftotext.sh
	$(BIN)/python -m pytest -n 2 -m "not browser" $(PYTEST_ARGS)

## make test-postgres: the same suite against the local PostgreSQL (throwaway database)
test-postgres: install-dev
	bash .ci/pdftotext.sh
	bash .ci/postgres.sh $(BIN)/python -m pytest -n 2 -m "not browser" $(PYTEST_ARGS)

## make test-browser: headless Chromium (Debian's package) through Playwright
test-browser: install-dev
	bash .ci/chromium.sh
	CUSTODY_REQUIRE_BROWSER=1 $(BIN)/python -m pytest -m browser -p no:xdist $(PYTEST_ARGS)

## make test-scaleout: two app instances + two workers on one throwaway PostgreSQL (loopback only)
test-scaleout: install-dev
	timeout 900 bash .ci/postgres.sh $(BIN)/python -u tests/scaleout/run.py

## make fuzz: schemathesis over the whole API as admin, operator and a one-branch viewer (bounded, fixed seed)
fuzz: install-dev
	bash .ci/fuzz.sh

## make chaos: a day of API operations while the server and the worker are SIGKILLed at random (PostgreSQL),
## then the server on SQLite; afterwards `custody verify`, no lost write, no double payment, every webhook
chaos: install-dev
	timeout 360 bash .ci/postgres.sh $(BIN)/python -u tests/chaos/run.py postgres
	timeout 360 $(BIN)/python -u tests/chaos/run.py sqlite

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

fmt: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

messages: install
	cd $(CURDIR) && $(BIN)/python manage.py makemessages -l ar --ignore=.venv --ignore=node_modules --ignore=var
	cd $(CURDIR) && $(BIN)/python manage.py compilemessages -l ar --ignore=.venv --ignore=node_modules

## make lock: re-pin requirements.lock and requirements-dev.lock from the .in files (in a throwaway venv)
lock:
	rm -rf var/lock-venv
	$(PY) -m venv var/lock-venv
	var/lock-venv/bin/pip install --quiet --upgrade pip
	var/lock-venv/bin/pip install --quiet -r requirements.in
	var/lock-venv/bin/pip freeze | LC_ALL=C sort -f > requirements.lock
	var/lock-venv/bin/pip install --quiet -r requirements-dev.in
	var/lock-venv/bin/pip freeze | LC_ALL=C sort -f | grep -vxF -f requirements.lock > requirements-dev.lock
	rm -rf var/lock-venv

clean:
	rm -rf $(VENV) node_modules var/staticfiles
