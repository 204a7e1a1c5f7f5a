# Retkee Seller Analytics: the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
STACK := $(PY) -m local_stack
DAYS ?= 7

.PHONY: help run test stop clean ui env lint audit bench status manifest

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

$(UV):
	@python3 -m venv $(TOOLS)
	@$(TOOLS)/bin/pip install --quiet --quiet --disable-pip-version-check 'uv==$(UV_VERSION)'

$(VENV)/.synced: $(UV) uv.lock pyproject.toml
	@echo "installing $(VENV) from uv.lock (a minute or two the first time)"
	@# --compile-bytecode, as pip does by default: every process (retkee, the webserver, the daemon, each run
	@# worker) then starts from bytecode instead of compiling each library it imports (most of `retkee`'s start-up
	@# where Python may not write bytecode itself: PYTHONDONTWRITEBYTECODE, a read-only install).
	@$(UV) sync --frozen --quiet --compile-bytecode
	@touch $@

env: $(VENV)/.synced ## create the Python environment from the lock file

# The dbt manifest is a build artifact: parsed here (dagster-dbt's prepare_and_package), never when the code
# location is imported. A no-op while it is newer than every file of dbt_project/.
MANIFEST := dbt_project/target/manifest.json
DBT_FILES := $(shell find dbt_project -path dbt_project/target -prune -o -path dbt_project/logs -prune \
	-o -type f \( -name '*.sql' -o -name '*.yml' -o -name '*.yaml' -o -name '*.csv' \) -print)

manifest: $(MANIFEST) ## build the dbt manifest the code location reads (dbt_project/target/manifest.json)
	@:

$(MANIFEST): $(DBT_FILES) | env
	@$(PY) -m orchestration.transform.dbt_project
	@touch $@

run: env manifest ## start every server, onboard demo sellers, extract, build marts, print a summary, start the UI
	@$(STACK) up
	@$(STACK) demo --days $(DAYS)
	@$(STACK) ui

ui: env manifest ## start (or show) the Dagster UI
	$(STACK) ui

status: env ## what is running
	$(STACK) status

stop: ## stop every process the project started (by PID)
	@if [ -x $(PY) ]; then $(STACK) down; else echo "nothing to stop"; fi

clean: ## stop everything and remove all local state (.data/)
	@if [ -x $(PY) ]; then $(STACK) clean; else rm -rf .data; fi

test: env manifest ## run the whole test suite (starts and stops the servers it needs)
	$(PY) -m pytest

lint: env ## ruff over the code; import-linter over the layers (pyproject.toml [tool.importlinter]); sqlfluff over dbt_project
	$(VENV)/bin/ruff check orchestration spapi_sandbox local_stack tests benchmarks
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/sqlfluff lint dbt_project/models dbt_project/macros --processes 2

AUDIT_DIR := $(or $(RETKEE_DATA_DIR),.data)/security

audit: env ## dependency vulnerability audit of uv.lock (pip-audit) + static security lint (bandit, ruff S rules)
	@mkdir -p $(AUDIT_DIR)
	$(UV) export --frozen --no-hashes --no-emit-project --all-groups -q -o $(AUDIT_DIR)/requirements.txt
	$(VENV)/bin/ruff check --select S --ignore S101 orchestration spapi_sandbox local_stack
	$(PY) scripts/security_audit.py --requirements $(AUDIT_DIR)/requirements.txt --bandit-config bandit.yaml \
		--result $(AUDIT_DIR)/vulnerability-audit.json

bench: env manifest ## run benchmarks/ side by side with their baselines; writes docs/benchmarks.md
	$(PY) -m benchmarks.run $(BENCH)
