# Celsiusify — every entry point a user or CI needs. `make help` lists them.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV ?= .venv
PYTHON ?= $(VENV)/bin/python
SYSTEM_PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8080
PYTEST_ARGS ?=

.PHONY: help
help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-22s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(SYSTEM_PYTHON) -m venv $(VENV)
	$(PYTHON) -m pip install --quiet -r requirements-dev.txt
	touch $@

.PHONY: install
install: $(VENV)/.installed ## create .venv with the pinned runtime and development packages

.PHONY: run
run: install ## serve the API on http://$(HOST):$(PORT) (one uvicorn process)
	$(PYTHON) -m app --host $(HOST) --port $(PORT)

.PHONY: lint
lint: install ## ruff, pylint (10/10) and mypy --strict
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pylint --fail-under=10 app bench
	$(VENV)/bin/mypy

.PHONY: test
test: install ## the whole test suite (Docker and TensorFlow tests run where available)
	$(PYTHON) -m pytest $(PYTEST_ARGS)

.PHONY: perf
perf: install ## GET /convert of the app against bare Starlette, pinned cores, wrk (needs wrk)
	$(PYTHON) -m bench perf
