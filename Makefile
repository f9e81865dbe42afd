# Everyday targets. `make run` and `make test` do all set-up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export NOTARY_INSTANCE_PATH ?= $(CURDIR)/instance

.PHONY: run test test-fast lint format bench deps venv init clean

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

venv: $(BIN)/.installed

deps:
	./scripts/debian-packages.sh

init: venv
	$(BIN)/notary init

run: venv init
	$(BIN)/notary serve

test: deps venv init
	$(BIN)/python -m pytest -q

test-fast: venv
	$(BIN)/python -m pytest -q -x -m "not slow and not postgres"

lint: venv
	$(BIN)/ruff check notary tests bench
	$(BIN)/ruff format --check notary tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

format: venv
	$(BIN)/ruff format notary tests bench
	$(BIN)/ruff check --fix notary tests bench

bench: deps venv
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
