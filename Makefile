# Everyday targets. `make run` and `make test` do all set-up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export NOTARY_INSTANCE_PATH ?= $(CURDIR)/instance
# The page tests drive Debian's chromium; Playwright must never fetch a browser of its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1
AXE := tests/e2e/pages/node_modules/axe-core/axe.min.js

.PHONY: run run-deps test test-future test-fast test-browser sweep chaos tamper soak browser-deps messages lint format bench deps venv init clean

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

# make run HOST=0.0.0.0 PORT=8080: where the service listens. Set NOTARY_PUBLIC_URL to the address
# people reach it at (certificates' QR codes carry it). run-deps installs the certificates' fonts.
HOST ?= 127.0.0.1
PORT ?= 8000
run-deps:
	./scripts/debian-packages.sh --run

run: run-deps venv init
	$(BIN)/notary serve --host $(HOST) --port $(PORT)

# axe-core for the page tests, from npm at the version package-lock.json pins (never committed).
$(AXE): tests/e2e/pages/package-lock.json
	cd tests/e2e/pages && npm ci --no-audit --no-fund --ignore-scripts
	touch $@

browser-deps: $(AXE)

test: deps venv init browser-deps
	$(BIN)/python -m pytest -q
	$(MAKE) --no-print-directory test-future

# The suite again with its clock a year and ten years ahead (tests/support/clock.py): a test that
# mixes a fixed date with the machine's clock fails here before the calendar gets there. Tests that
# read the machine's clock where the suite cannot inject its own are marked `wallclock` and left
# out, as are the page tests (Chromium and the service it talks to run on the machine's clock).
FUTURE_TESTS ?= -m "not wallclock and not postgres and not slow and not browser" --ignore=tests/e2e/pages tests/unit tests/http tests/e2e
test-future: venv
	NOTARY_TEST_CLOCK_SHIFT=+1y $(BIN)/python -m pytest -q $(FUTURE_TESTS)
	NOTARY_TEST_CLOCK_SHIFT=+10y $(BIN)/python -m pytest -q $(FUTURE_TESTS)

test-browser: deps venv browser-deps
	$(BIN)/python -m pytest -q -m browser

# Every API route swept by schemathesis from the served OpenAPI document, on SQLite and PostgreSQL:
# make test sweeps 4 requests per route and mode, this 200 (about 10 minutes here).
SWEEP_EXAMPLES ?= 200
sweep: venv
	NOTARY_SWEEP_EXAMPLES=$(SWEEP_EXAMPLES) $(BIN)/python -m pytest -q -p no:cacheprovider tests/http/test_sweep.py

# kill -9 of web and background workers under load (and of PostgreSQL itself), 20 kills per
# database: nothing acknowledged lost, no duplicate, audit clean (docs/reliability.md). make test
# runs 3.
CHAOS_TRIALS ?= 20
chaos: venv
	NOTARY_CHAOS_TRIALS=$(CHAOS_TRIALS) $(BIN)/python -m pytest -q -s -p no:cacheprovider tests/e2e/test_chaos.py

# 1,000 random single-byte changes across the evidence surface, each found by notary audit
# (docs/reliability.md); make test makes 40.
TAMPER_FLIPS ?= 1000
tamper: venv
	NOTARY_TAMPER_FLIPS=$(TAMPER_FLIPS) $(BIN)/python -m pytest -q -s -p no:cacheprovider tests/http/test_tamper.py

# 30 minutes of steady lifecycle load at half the benchmark's maximum: no error, memory flat,
# latency percentiles per window (docs/reliability.md). make test soaks for 20 s at 4/s.
SOAK_SECONDS ?= 1800
SOAK_RATE ?= 25
soak: venv
	NOTARY_SOAK_SECONDS=$(SOAK_SECONDS) NOTARY_SOAK_RATE=$(SOAK_RATE) \
	  $(BIN)/python -m pytest -q -s -p no:cacheprovider -k sqlite tests/e2e/test_soak.py

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

# The pages' message catalogues: extract the strings, merge them into zh_CN, compile the .mo
# (committed, so an installed package needs no build step; a test checks it is up to date).
messages: venv
	$(BIN)/pybabel extract -F notary/pages/babel.cfg --no-location --omit-header --sort-output \
	  -o notary/pages/translations/messages.pot notary/pages
	test -f notary/pages/translations/zh/LC_MESSAGES/messages.po || \
	  $(BIN)/pybabel init -l zh -i notary/pages/translations/messages.pot -d notary/pages/translations
	$(BIN)/pybabel update --no-fuzzy-matching --omit-header -l zh \
	  -i notary/pages/translations/messages.pot -d notary/pages/translations
	$(BIN)/pybabel compile --statistics -l zh -d notary/pages/translations
