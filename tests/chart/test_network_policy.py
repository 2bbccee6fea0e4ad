"""The NetworkPolicy example admits exactly who it names: the in-cluster load test's workers (as
`make loadtest-template` renders deliveryhero/locust), Prometheus and the Ingress controller, on the
`http` port and no other; nobody else; the pods' egress is DNS only; `helm test` still reaches
them."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from tests.helpers.helm import LOCUST_CHART, ROOT, Objects
from tests.helpers.objects import one
from tests.k8s_rules import PodEndpoint, network_policy_allows, pod_template

pytestmark = pytest.mark.helm

EXAMPLE = "celsiusify-chart/examples/network-policy.yaml"
NAMESPACE = "default"  # the example's Locust namespace is make's default LOCUST_NAMESPACE
# Pods as kube-prometheus-stack and ingress-nginx label them with their defaults.
PROMETHEUS = PodEndpoint(
    "monitoring",
    {
        "app.kubernetes.io/name": "prometheus",
        "app.kubernetes.io/instance": "kube-prometheus-stack-prometheus",
        "prometheus": "kube-prometheus-stack-prometheus",
    },
)
INGRESS_CONTROLLER = PodEndpoint(
    "ingress-nginx",
    {
        "app.kubernetes.io/name": "ingress-nginx",
        "app.kubernetes.io/instance": "ingress-nginx",
        "app.kubernetes.io/component": "controller",
    },
)
DNS = PodEndpoint("kube-system", {"k8s-app": "kube-dns"}, {"dns": 53})
# Ports a pod might try besides the app's own.
OTHER_PORTS = (22, 80, 443, 5557, 8089, 9090, 8081)


def endpoints(objects: Objects, namespace: str) -> dict[str, PodEndpoint]:
    """Every pod (template) rendered, as NetworkPolicy sees it, by object name."""
    found = {}
    for obj in objects:
        template = pod_template(obj)
        if template is None:
            continue
        labels, pod = template
        ports = {
            port["name"]: port["containerPort"]
            for container in pod.get("containers") or []
            for port in container.get("ports") or []
            if "name" in port
        }
        found[obj["metadata"]["name"]] = PodEndpoint(namespace, dict(labels), ports)
    return found


@pytest.fixture(scope="module")
def locust_pods(helm: str) -> dict[str, PodEndpoint]:
    if not LOCUST_CHART.exists():
        pytest.skip(f"{LOCUST_CHART} is absent (deliveryhero/locust 0.35.0 is read from ../shared)")
    result = subprocess.run(
        ["make", "--no-print-directory", "-s", "loadtest-template", f"HELM={helm}",
         f"LOCUST_CHART={LOCUST_CHART}", f"LOCUST_NAMESPACE={NAMESPACE}"],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    objects = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    pods = endpoints(objects, NAMESPACE)
    assert {"locust-master", "locust-worker"} <= set(pods)
    return pods


@pytest.fixture(scope="module", params=["alone", "with-ingress-example", "tfserving"])
def release(request: pytest.FixtureRequest, render: Callable[..., Objects]) -> Objects:
    files = {
        "alone": (EXAMPLE,),
        "with-ingress-example": ("celsiusify-chart/examples/ingress-3-replicas.yaml", EXAMPLE),
        "tfserving": ("tfserving/values.yaml", EXAMPLE),
    }[request.param]
    return render(*files, release="celsiusify", namespace=NAMESPACE)


def app_pod(objects: Objects) -> PodEndpoint:
    return endpoints([one(objects, "Deployment")], NAMESPACE)["celsiusify"]


def policies(objects: Objects) -> list[dict[str, Any]]:
    return [obj for obj in objects if obj["kind"] == "NetworkPolicy"]


def test_the_named_sources_are_admitted_on_http_and_nothing_else(
    release: Objects, locust_pods: dict[str, PodEndpoint]
) -> None:
    app, rules = app_pod(release), policies(release)
    http = app.ports["http"]
    for source in (locust_pods["locust-worker"], PROMETHEUS, INGRESS_CONTROLLER):
        assert network_policy_allows(rules, source, app, http), source
        for port in (*OTHER_PORTS, http + 1):
            assert not network_policy_allows(rules, source, app, port), (source, port)
        assert not network_policy_allows(rules, source, app, http, "UDP")


def test_no_one_else_is_admitted(release: Objects, locust_pods: dict[str, PodEndpoint]) -> None:
    app, rules = app_pod(release), policies(release)
    http = app.ports["http"]
    others = [
        locust_pods["locust-master"],  # runs no users: it never calls the target
        PodEndpoint(NAMESPACE, {"run": "celsiusify-spread"}),  # a pod the user starts by hand
        PodEndpoint(NAMESPACE, dict(app.labels)),  # the app's pods do not call each other
        PodEndpoint("default-other", dict(locust_pods["locust-worker"].labels)),  # wrong namespace
        PodEndpoint(NAMESPACE, dict(PROMETHEUS.labels)),  # Prometheus labels, wrong namespace
        PodEndpoint(
            "ingress-nginx",
            {
                "app.kubernetes.io/name": "ingress-nginx",
                "app.kubernetes.io/component": "admission-webhook",
            },
        ),
        DNS,
    ]
    for source in others:
        assert not network_policy_allows(rules, source, app, http), source


def test_helm_test_pod_reaches_the_app_and_nothing_else(release: Objects) -> None:
    app, rules = app_pod(release), policies(release)
    test_pod = endpoints([one(release, "Pod")], NAMESPACE)["celsiusify-test-convert"]
    assert network_policy_allows(rules, test_pod, app, app.ports["http"])
    assert network_policy_allows(rules, test_pod, DNS, 53, "UDP")
    assert not network_policy_allows(rules, test_pod, PROMETHEUS, 9090)
    assert not network_policy_allows(rules, test_pod, app, 22)
    assert not network_policy_allows(rules, PROMETHEUS, test_pod, 8080)  # nothing comes in


def test_app_egress_is_dns_only(release: Objects) -> None:
    app, rules = app_pod(release), policies(release)
    assert network_policy_allows(rules, app, DNS, 53, "UDP")
    assert network_policy_allows(rules, app, DNS, 53, "TCP")
    assert not network_policy_allows(rules, app, DNS, 443)
    assert not network_policy_allows(rules, app, PROMETHEUS, 53, "UDP")
    assert not network_policy_allows(rules, app, INGRESS_CONTROLLER, 443)


def test_egress_stays_open_unless_asked(render: Callable[..., Objects]) -> None:
    objects = render(EXAMPLE, sets=("networkPolicy.egress.dnsOnly=false",), release="celsiusify")
    app = endpoints([one(objects, "Deployment")], "bench")["celsiusify"]
    (policy,) = [p for p in policies(objects) if p["metadata"]["name"] == "celsiusify"]
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    assert network_policy_allows(policies(objects), app, PROMETHEUS, 9090)


def test_only_the_helm_test_pod_when_no_source_is_named(render: Callable[..., Objects]) -> None:
    objects = render(sets=("networkPolicy.enabled=true",), release="celsiusify")
    app = endpoints([one(objects, "Deployment")], "bench")["celsiusify"]
    test_pod = endpoints([one(objects, "Pod")], "bench")["celsiusify-test-convert"]
    assert network_policy_allows(policies(objects), test_pod, app, app.ports["http"])
    assert not network_policy_allows(policies(objects), PROMETHEUS, app, app.ports["http"])


def test_source_in_the_release_namespace_by_default(render: Callable[..., Objects]) -> None:
    objects = render(
        sets=(
            "networkPolicy.enabled=true",
            "networkPolicy.ingressFrom.neighbours.podLabels.role=client",
        ),
        release="celsiusify",
    )
    app = endpoints([one(objects, "Deployment")], "bench")["celsiusify"]
    assert network_policy_allows(
        policies(objects), PodEndpoint("bench", {"role": "client"}), app, 8080
    )
    assert not network_policy_allows(
        policies(objects), PodEndpoint("x", {"role": "client"}), app, 8080
    )
