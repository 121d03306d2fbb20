# The two commands: `make run` (the whole system with demo data) and `make test`.
# Nothing but Python 3.11, make and npm is needed; everything else installs itself.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export PORT

.PHONY: run test lint bench install assets stop clean-var help

help:
	@echo "make run    start everything with demo data on http://127.0.0.1:$(PORT)"
	@echo "make test   run the whole test suite (browser tests included)"
	@echo "make lint   ruff and mypy"
	@echo "make bench  run the benchmarks (ONLY=<name> for one)"
	@echo "make stop   stop the embedded PostgreSQL and Redis if something left them running"

$(VENV)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

static/vendor/.built: node_modules/.installed scripts/build_assets.py
	$(PY) scripts/build_assets.py
	touch $@

assets: install static/vendor/.built

run: install assets
	$(PY) -m brokerage.run

test: install assets
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy brokerage clients kyc wallets partners risk reports mt5sim

bench: install assets
	$(PY) -m bench $(ONLY)

stop: install
	$(PY) -m brokerage.devservices stop
