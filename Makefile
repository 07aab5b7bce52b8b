# CXM — the two commands a newcomer needs are `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000

# Tests run against real PostgreSQL and Redis; override these to point elsewhere.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/cxm
TEST_BROKER_URL ?= redis://127.0.0.1:6379/0

.PHONY: run test install assets messages lint format migrate seed stack clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
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

locale/%/LC_MESSAGES/django.mo: locale/%/LC_MESSAGES/django.po $(VENV)/.installed
	$(PY) manage.py compilemessages --locale $* $(MESSAGES_IGNORE)

install: $(VENV)/.installed $(CATALOGUES:.po=.mo)

assets: static/vendor/.copied

## make messages: collect every marked string into locale/es/LC_MESSAGES/django.po, then translate
## the new entries there (tests/test_translations.py fails while one is missing or fuzzy)
messages: $(VENV)/.installed
	$(PY) manage.py makemessages --locale es --add-location file $(MESSAGES_IGNORE)
	$(PY) manage.py compilemessages --locale es $(MESSAGES_IGNORE)

## make run: the app with embedded defaults (SQLite, tasks in-process) and demo data on http://127.0.0.1:8000
run: install assets
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py runserver $(HOST):$(PORT)

## make test: the whole suite against PostgreSQL and Redis on localhost
test: install assets
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(TEST_BROKER_URL)} \
		$(PY) scripts/check_services.py
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(TEST_BROKER_URL)} \
		$(PY) -m pytest $(PYTEST_ARGS)

## make stack: migrate, then gunicorn, a Celery worker and Celery beat (Procfile, run by honcho) against
## PostgreSQL and Redis on this machine; the app on http://$(HOST):$(PORT). Ctrl-C stops all three.
stack: install assets
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(TEST_BROKER_URL)} \
		$(PY) scripts/check_services.py
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} $(PY) manage.py migrate --noinput
	if [ "$${DEBUG:-1}" = "0" ]; then $(PY) manage.py collectstatic --noinput; fi
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(TEST_BROKER_URL)} \
		HOST=$(HOST) WEB_PORT=$(PORT) PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(VENV)/bin/honcho start

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) node_modules static/vendor staticfiles db.sqlite3 locale/*/LC_MESSAGES/*.mo
