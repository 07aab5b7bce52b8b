# CXM — the two commands a newcomer needs are `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000
# Links in e-mails (survey invitations, case notices) point where the app is served, unless set.
export CXM_BASE_URL ?= http://$(HOST):$(PORT)

# Tests run against real PostgreSQL and Redis; override these to point elsewhere.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/cxm
TEST_BROKER_URL ?= redis://127.0.0.1:6379/0

.PHONY: run test faults install install-dev assets messages lint format migrate seed stack clean

# Running the app needs only the runtime packages; tests and lint add the development tools.
$(VENV)/.runtime-installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: $(VENV)/.runtime-installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

static/vendor/.copied: node_modules/.installed scripts/copy_vendor.sh
	sh scripts/copy_vendor.sh
	touch $@

# Translations (docs/languages.md): the .po catalogues are kept in git, the compiled .mo are not.
MESSAGES_IGNORE := --ignore=.venv --ignore=node_modules --ignore=bench --ignore=tests --ignore=static --ignore=staticfiles
CATALOGUES := $(wildcard locale/*/LC_MESSAGES/django.po)

locale/%/LC_MESSAGES/django.mo: locale/%/LC_MESSAGES/django.po $(VENV)/.runtime-installed
	$(PY) manage.py compilemessages --locale $* $(MESSAGES_IGNORE)

install: $(VENV)/.runtime-installed $(CATALOGUES:.po=.mo)

install-dev: install $(VENV)/.dev-installed

assets: static/vendor/.copied

## make messages: collect every marked string into locale/es/LC_MESSAGES/django.po, then translate
## the new entries there (tests/test_translations.py fails while one is missing or fuzzy)
messages: $(VENV)/.runtime-installed
	$(PY) manage.py makemessages --locale es --add-location file $(MESSAGES_IGNORE)
	$(PY) manage.py compilemessages --locale es $(MESSAGES_IGNORE)

## make run: the app with embedded defaults (SQLite, tasks in-process) and demo data on http://$(HOST):$(PORT);
## the periodic jobs (survey triggers, reminders, sweeps, nightly themes and ladder) run beside it (run_periodic)
run: install assets
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py run_periodic & trap 'kill $$!' EXIT INT TERM; $(PY) manage.py runserver $(HOST):$(PORT)

## make test: the suite against PostgreSQL and Redis on localhost, without the slow fault scenarios
test: install-dev assets
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(TEST_BROKER_URL)} \
		$(PY) scripts/check_services.py
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(TEST_BROKER_URL)} \
		$(PY) scripts/run_tests.py $(PYTEST_ARGS)

## make faults: the fault scenarios (tests marked `faults`), each on a throwaway PostgreSQL and Redis of its own
faults: install-dev assets
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(TEST_BROKER_URL)} \
		$(PY) scripts/check_services.py
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(TEST_BROKER_URL)} \
		$(PY) -m pytest -m faults $(PYTEST_ARGS)

## make stack: migrate, then gunicorn, the scoring and events Celery workers and Celery beat (Procfile, run
## by honcho) against PostgreSQL and Redis on this machine; the app on http://$(HOST):$(PORT). A process
## that exits is started again (scripts/respawn); Ctrl-C stops them all.
stack: install assets
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(TEST_BROKER_URL)} \
		$(PY) scripts/check_services.py
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} $(PY) manage.py migrate --noinput
	if [ "$${DEBUG:-1}" = "0" ]; then $(PY) manage.py collectstatic --noinput; fi
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(TEST_BROKER_URL)} \
		HOST=$(HOST) WEB_PORT=$(PORT) PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(VENV)/bin/honcho start

## make lint: ruff (lint and format) and mypy with the Django and DRF plugins (settings in pyproject.toml)
lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .

format: install-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) node_modules static/vendor staticfiles db.sqlite3 locale/*/LC_MESSAGES/*.mo
