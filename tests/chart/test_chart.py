"""celsiusify-chart: lint, render a matrix of values, validate, and check what matters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import kubernetes_validate
import pytest
import yaml

from app import __version__
from tests.helpers.helm import CHART, Objects, run_helm
from tests.helpers.objects import NEWEST_KUBERNETES, OLDEST_KUBERNETES, app_flags, by_kind, one

pytestmark = pytest.mark.helm

# Every values file the chart is documented to deploy with.
MATRIX = {
    "defaults": (),
    "hpa-off": ("celsiusify-chart/ci/hpa-off-values.yaml",),
    "ingress-3-replicas": ("celsiusify-chart/examples/ingress-3-replicas.yaml",),
    "tfserving": ("tfserving/values.yaml",),
}


def container(objects: Objects) -> dict[str, Any]:
    (main,) = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"]
    return main


def test_lint_strict(helm: str) -> None:
    result = run_helm(helm, "lint", "--strict", str(CHART))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(params=sorted(MATRIX))
def matrix_entry(request: pytest.FixtureRequest, render: Callable[..., Objects]) -> Objects:
    return render(*MATRIX[request.param])


@pytest.mark.parametrize("version", [OLDEST_KUBERNETES, NEWEST_KUBERNETES])
def test_every_object_validates_strictly(matrix_entry: Objects, version: str) -> None:
    kinds = set()
    for obj in matrix_entry:
        kubernetes_validate.validate(obj, version, strict=True)
        kinds.add(obj["kind"])
    assert {"Deployment", "Service", "ServiceAccount", "Pod"} <= kinds


def test_hpa_targets_the_deployment_exactly(matrix_entry: Objects) -> None:
    hpas = by_kind(matrix_entry, "HorizontalPodAutoscaler")
    deployment = one(matrix_entry, "Deployment")
    for hpa in hpas:
        assert hpa["apiVersion"] == "autoscaling/v2"
        target = hpa["spec"]["scaleTargetRef"]
        assert target["kind"] == deployment["kind"]
        assert target["apiVersion"] == deployment["apiVersion"]
        assert target["name"] == deployment["metadata"]["name"]
        (metric,) = hpa["spec"]["metrics"]
        assert metric["resource"]["name"] == "cpu"
        assert metric["resource"]["target"]["type"] == "Utilization"
        assert "requests" in container(matrix_entry)["resources"]
        assert container(matrix_entry)["resources"]["requests"]["cpu"]
        assert "replicas" not in deployment["spec"]


def test_hpa_defaults_match_the_original(render: Callable[..., Objects]) -> None:
    spec = one(render(), "HorizontalPodAutoscaler")["spec"]
    assert (spec["minReplicas"], spec["maxReplicas"]) == (1, 5)
    assert spec["metrics"][0]["resource"]["target"]["averageUtilization"] == 50
    assert spec["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 120


def test_hpa_off_renders_replicas_and_no_hpa(render: Callable[..., Objects]) -> None:
    objects = render(*MATRIX["hpa-off"])
    assert not by_kind(objects, "HorizontalPodAutoscaler")
    assert one(objects, "Deployment")["spec"]["replicas"] == 3


def test_selectors_match_pods_and_ignore_versions(render: Callable[..., Objects]) -> None:
    old = render(sets=("image.tag=1.0.0",))
    new = render(sets=("image.tag=2.5.1",))
    old_selector = one(old, "Deployment")["spec"]["selector"]["matchLabels"]
    assert old_selector == one(new, "Deployment")["spec"]["selector"]["matchLabels"]
    assert set(old_selector) == {"app.kubernetes.io/name", "app.kubernetes.io/instance"}
    pod_labels = one(old, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert old_selector.items() <= pod_labels.items()
    assert one(old, "Service")["spec"]["selector"] == old_selector
    assert one(old, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"] == old_selector


def test_probes_use_the_named_port(matrix_entry: Objects) -> None:
    main = container(matrix_entry)
    assert {"name": "http"}.items() <= main["ports"][0].items()
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert main[probe]["httpGet"]["port"] == "http"
    assert main["livenessProbe"]["httpGet"]["path"] != main["readinessProbe"]["httpGet"]["path"]
    (port,) = one(matrix_entry, "Service")["spec"]["ports"]
    assert port["targetPort"] == "http"


def test_restricted_security_context(matrix_entry: Objects) -> None:
    pod = one(matrix_entry, "Deployment")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert pod["automountServiceAccountToken"] is False
    context = container(matrix_entry)["securityContext"]
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"]["drop"] == ["ALL"]
    test_pod = one(matrix_entry, "Pod")
    assert test_pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert test_pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert test_pod["spec"]["containers"][0]["securityContext"]["capabilities"]["drop"] == ["ALL"]


def test_shutdown_is_consistent_with_the_app_drain(render: Callable[..., Objects]) -> None:
    objects = render()
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    main = container(objects)
    pre_stop = main["lifecycle"]["preStop"]["sleep"]["seconds"]
    flags = app_flags(main)
    assert flags is not None
    drain = flags.shutdown_delay
    graceful = flags.timeout_graceful_shutdown
    assert pod["terminationGracePeriodSeconds"] >= pre_stop + drain + graceful
    spread = pod["topologySpreadConstraints"][0]
    assert spread["topologyKey"] == "kubernetes.io/hostname"


def test_service_account_without_token(render: Callable[..., Objects]) -> None:
    objects = render()
    account = one(objects, "ServiceAccount")
    assert account["automountServiceAccountToken"] is False
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == account["metadata"]["name"]


def test_ingress_example(render: Callable[..., Objects]) -> None:
    objects = render(*MATRIX["ingress-3-replicas"])
    ingress = one(objects, "Ingress")
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"][0]["secretName"] == "celsiusify-tls"
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {
        "name": one(objects, "Service")["metadata"]["name"],
        "port": {"name": "http"},
    }
    assert "nginx.ingress.kubernetes.io/auth-type" in ingress["metadata"]["annotations"]
    assert one(objects, "Deployment")["spec"]["replicas"] == 3
    assert not by_kind(render(), "Ingress")


def test_helm_test_pod_checks_the_conversion(render: Callable[..., Objects]) -> None:
    pod = one(render(), "Pod")
    script = " ".join(pod["spec"]["containers"][0]["command"])
    assert "http://demo-celsiusify.bench.svc:80/convert?fahrenheit=212" in script
    assert '"100.000000"' in script


def test_names_are_release_scoped(render: Callable[..., Objects]) -> None:
    names = {obj["metadata"]["name"] for obj in render(release="celsiusify")}
    assert names == {"celsiusify", "celsiusify-test-convert"}
    # Helm allows 53-character release names; Service names must fit a 63-character label.
    long_release = render(release="x" * 53)
    assert all(len(obj["metadata"]["name"]) <= 63 for obj in long_release if obj["kind"] != "Pod")


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (("autoscaling.minReplicas=abc",), "want integer"),
        (("replicaCount=-1",), "minimum"),
        (("containerPort=70000",), "maximum"),
        (("image.pullPolicy=Sometimes",), "pullPolicy"),
        (("resources.requests.cpu=null",), "cpu"),
        (("resources.requests=null",), "requests"),
        (("autoscaling.minReplicas=9",), "must not exceed"),
        (("shutdown.terminationGracePeriodSeconds=5",), "terminationGracePeriodSeconds"),
        (("unknownKey=1",), "unknownKey"),
        (("probes.readiness.path=readyz",), "pattern"),
        (("server.shutdownDelaySeconds=-1",), "/server/shutdownDelaySeconds"),
        (("server.shutdownDelaySeconds=soon",), "/server/shutdownDelaySeconds"),
        (("server.timeoutGracefulShutdownSeconds=2.5",), "/server/timeoutGracefulShutdownSeconds"),
        (("server.host=--port=1",), "/server/host"),
        (("server.extraArgs.--log-level=debug",), "'--log-level' does not match pattern"),
        (("server.extraArgs.workers[0]=2",), "/server/extraArgs/workers"),
        (("server.gracefulTimeout=5",), "'gracefulTimeout' not allowed"),
        (("shutdown.processDrainSeconds=soon",), "/shutdown/processDrainSeconds"),
    ],
)
def test_bad_values_are_refused_clearly(helm: str, sets: tuple[str, ...], message: str) -> None:
    args = ["template", "demo", str(CHART)]
    for pair in sets:
        args += ["--set", pair]
    result = run_helm(helm, *args)
    assert result.returncode != 0
    assert message in result.stderr, result.stderr


def test_cpu_request_may_be_omitted_without_hpa(render: Callable[..., Objects]) -> None:
    objects = render(*MATRIX["hpa-off"], sets=("resources.requests=null",))
    assert "requests" not in container(objects)["resources"]


def test_app_version_matches_the_app() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2"
    assert chart["appVersion"] == __version__


@pytest.mark.parametrize("entry", ["defaults", "tfserving"])
def test_notes_print_working_commands(helm: str, entry: str) -> None:
    args = ["install", "demo", str(CHART), "--dry-run=client", "--namespace", "bench"]
    for values_file in MATRIX[entry]:
        args += ["-f", values_file]
    result = run_helm(helm, *args)
    assert result.returncode == 0, result.stderr
    notes = result.stdout.split("NOTES:", 1)[1]
    assert "kubectl port-forward --namespace bench service/demo-celsiusify 8080:80" in notes
    path = "/convert?fahrenheit=212" if entry == "defaults" else "/v1/models/celsiusify"
    assert f"curl -s 'http://127.0.0.1:8080{path}'" in notes
    assert "helm test demo --namespace bench" in notes
    assert ("app_identifier" in notes) == (entry == "defaults")
