# make run  - prepare everything and start web, Celery worker and beat (Ctrl-C stops them);
#             PGBOUNCER=1 make run: through a private PgBouncer in transaction pooling mode
# make test - the same preparation, then the whole test suite
# make test-faults - the same preparation, then the fault suite (tests/faults: private servers, slow)
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
WITH_SERVICES := set -a; . ./.run/services.env; set +a;

.PHONY: run test test-faults test-fuzz load prepare services stop-services lint format bench clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check --upgrade pip
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt
	@touch $@

.env:
	@sed "s|^SECRET_KEY=.*|SECRET_KEY=$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))')|" .env.example > .env
	@echo "Wrote .env (a fresh SECRET_KEY; edit it to taste)."

services:
	@$(PYTHON) scripts/services.py

stop-services:
	@$(PYTHON) scripts/services.py stop

prepare: $(VENV)/.installed .env services
	@$(WITH_SERVICES) $(PY) manage.py migrate_schemas --noinput -v 0  # connects as the owner role
	@$(WITH_SERVICES) $(PY) manage.py seed_demo  # as the app role, like the platform itself
	@$(WITH_SERVICES) $(PY) manage.py collectstatic --noinput -v 0

run: prepare
	@$(WITH_SERVICES) $(PY) manage.py demo_banner
	@rm -rf .run/prometheus && mkdir -p .run/prometheus  # /metrics adds up web and worker processes
	@# web, worker and beat connect as the app role and are not told the owner role's URL. `-e
	@# /dev/null`: honcho would load .env over the environment (its DATABASE_URL may be the superuser's);
	@# Django reads .env itself, under the environment.
	@$(WITH_SERVICES) PROMETHEUS_MULTIPROC_DIR=$(CURDIR)/.run/prometheus exec env -u MIGRATION_DATABASE_URL \
		$(VENV)/bin/honcho start -e /dev/null -f Procfile

test: prepare
	@$(WITH_SERVICES) $(VENV)/bin/pytest -rs

test-faults: prepare
	@$(WITH_SERVICES) $(VENV)/bin/pytest -rs -s -m faults --durations=0 tests/faults

# The API fuzz (schemathesis, minutes): not part of `make test`. SAAS_FUZZ_EXAMPLES=N per operation.
test-fuzz: prepare
	@$(WITH_SERVICES) SAAS_FUZZ=1 $(VENV)/bin/pytest -rs -p no:randomly tests/fuzz

# The load test (locust, ~4 minutes with set-up): LOAD_ARGS="--duration 180 --users 40".
load: prepare
	@$(WITH_SERVICES) $(PY) -m tests.load $(LOAD_ARGS)

# ruff, then mypy over the packages pyproject.toml's [tool.mypy] files names (strict).
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(VENV)/.installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: prepare
	@$(WITH_SERVICES) $(PY) -m tests.bench

clean: stop-services
	rm -rf .run staticfiles
