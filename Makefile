# nhigov developer tasks. `make demo` runs the embedded portal (SQLite, in-process tasks);
# `make test` honours DATABASE_URL / REDIS_URL from the environment (CI sets both).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1:8000
PYTEST_ARGS ?=

# Installs are skipped while pyproject.toml is older than the stamp.
RUN_STAMP  := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test

# The demo always runs embedded and in debug, whatever the shell exports.
DEMO_ENV := env -u DATABASE_URL -u REDIS_URL DEBUG=1

.DEFAULT_GOAL := help
.PHONY: help demo install install-test test lint migrate worker beat clean distclean

help:
	@echo "make demo     embedded demo (SQLite) with demo data on http://$(HOST)"
	@echo "make test     ruff + pytest (uses DATABASE_URL / REDIS_URL if set)"
	@echo "make lint     ruff only"
	@echo "make migrate  apply migrations to the configured database"
	@echo "make worker   Celery worker (needs REDIS_URL)"
	@echo "make beat     Celery beat (needs REDIS_URL)"
	@echo "make clean    remove the demo database, collected static files and caches"
	@echo "make distclean  clean, and remove the virtualenv too"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@ $(RUN_STAMP)

install: $(RUN_STAMP)

install-test: $(TEST_STAMP)

demo: $(RUN_STAMP)
	$(DEMO_ENV) $(BIN)/python manage.py migrate --noinput
	$(DEMO_ENV) $(BIN)/python manage.py load_demo
	$(DEMO_ENV) $(BIN)/python manage.py runserver $(HOST)

test: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(TEST_STAMP)
	$(BIN)/ruff check .

migrate: $(RUN_STAMP)
	$(BIN)/python manage.py migrate --noinput

worker: $(RUN_STAMP)
	@test -n "$$REDIS_URL" || { echo "worker: set REDIS_URL (and DATABASE_URL)"; exit 2; }
	$(BIN)/celery -A nhigov worker --loglevel INFO

beat: $(RUN_STAMP)
	@test -n "$$REDIS_URL" || { echo "beat: set REDIS_URL (and DATABASE_URL)"; exit 2; }
	$(BIN)/celery -A nhigov beat --loglevel INFO --schedule $(VENV)/celerybeat-schedule

clean:
	rm -rf db.sqlite3 staticfiles .pytest_cache .ruff_cache *.egg-info build
	rm -f $(RUN_STAMP) $(TEST_STAMP)
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
