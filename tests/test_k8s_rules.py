"""tests/k8s_rules.py: a valid release passes, and every rule catches a fixture that breaks it."""

from __future__ import annotations

import copy
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import pytest

from tests.k8s_rules import (
    PodEndpoint,
    is_port_name,
    network_policy_allows,
    parse_quantity,
    violations,
)

SELECTOR = {"app.kubernetes.io/name": "demo", "app.kubernetes.io/instance": "r"}
Objects = list[dict[str, Any]]


def release() -> Objects:
    """A small valid release: Deployment, Service, PDB, HPA and a helm test Pod."""
    container = {
        "name": "app",
        "image": "demo:1",
        "ports": [{"name": "http", "containerPort": 8080}],
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http"}},
        "livenessProbe": {"tcpSocket": {"port": 8080}},
        "lifecycle": {"preStop": {"sleep": {"seconds": 5}}},
        "resources": {
            "requests": {"cpu": "250m", "memory": "64Mi"},
            "limits": {"cpu": "1", "memory": "0.125Gi"},
        },
        "env": [{"name": "LEVEL", "value": "1"}],
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    pod_spec = {
        "terminationGracePeriodSeconds": 15,
        "containers": [container],
        "volumes": [{"name": "tmp", "emptyDir": {}}],
    }
    meta = {"name": "demo", "labels": {**SELECTOR, "app.kubernetes.io/version": "1.0.0"}}
    return [
        {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": copy.deepcopy(meta),
            "spec": {
                "selector": {"matchLabels": dict(SELECTOR)},
                "template": {"metadata": {"labels": {**SELECTOR, "x": "y"}}, "spec": pod_spec},
            },
        },
        {
            "apiVersion": "v1", "kind": "Service", "metadata": copy.deepcopy(meta),
            "spec": {
                "selector": dict(SELECTOR),
                "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
            },
        },
        {
            "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": copy.deepcopy(meta),
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": dict(SELECTOR)}},
        },
        {
            "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": copy.deepcopy(meta),
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "demo"},
                "minReplicas": 1, "maxReplicas": 5,
                "metrics": [{"type": "Resource", "resource": {
                    "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}
                }}],
            },
        },
        {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {
                "name": "demo-test-convert",
                "labels": {**SELECTOR, "app.kubernetes.io/name": "demo-test"},
                "annotations": {"helm.sh/hook": "test"},
            },
            "spec": {"restartPolicy": "Never", "containers": [{"name": "convert", "image": "x"}]},
        },
    ]  # fmt: skip


def kind(objects: Objects, name: str) -> dict[str, Any]:
    return next(obj for obj in objects if obj["kind"] == name)


def main(objects: Objects) -> dict[str, Any]:
    container: dict[str, Any] = kind(objects, "Deployment")["spec"]["template"]["spec"][
        "containers"
    ][0]
    return container


def pod_spec(objects: Objects) -> dict[str, Any]:
    spec: dict[str, Any] = kind(objects, "Deployment")["spec"]["template"]["spec"]
    return spec


def set_port_name(name: str) -> Callable[[Objects], None]:
    def mutate(objects: Objects) -> None:
        main(objects)["ports"][0]["name"] = name
        main(objects)["readinessProbe"]["httpGet"]["port"] = name
        kind(objects, "Service")["spec"]["ports"][0]["targetPort"] = name

    return mutate


def rename(kind_name: str, name: str) -> Callable[[Objects], None]:
    def mutate(objects: Objects) -> None:
        kind(objects, kind_name)["metadata"]["name"] = name

    return mutate


def test_a_valid_release_passes() -> None:
    assert violations(release()) == []
    assert violations(release(), drain_seconds=10) == []


BREAKS: dict[str, tuple[Callable[[Objects], None], str]] = {
    "probe-two-handlers": (
        lambda o: main(o)["readinessProbe"].update(tcpSocket={"port": 8080}),
        "readinessProbe has 2 handlers (httpGet, tcpSocket)",
    ),
    "probe-no-handler": (
        lambda o: main(o).update(livenessProbe={"periodSeconds": 5}),
        "livenessProbe has 0 handlers",
    ),
    "lifecycle-two-handlers": (
        lambda o: main(o)["lifecycle"]["preStop"].update(exec={"command": ["true"]}),
        "lifecycle.preStop has 2 handlers",
    ),
    "probe-port-name-unknown": (
        lambda o: main(o)["readinessProbe"]["httpGet"].update(port="web"),
        "port 'web' names no port of container app",
    ),
    "probe-port-number-undeclared": (
        lambda o: main(o)["livenessProbe"]["tcpSocket"].update(port=5557),
        "port 5557 is not a containerPort",
    ),
    "service-target-name-unknown": (
        lambda o: kind(o, "Service")["spec"]["ports"][0].update(targetPort="web"),
        "targetPort 'web' names no container port of Deployment/demo",
    ),
    "service-target-number-undeclared": (
        lambda o: kind(o, "Service")["spec"]["ports"][0].update(targetPort=9090),
        "targetPort 9090 names no container port",
    ),
    "service-port-name-not-dns-label": (
        lambda o: kind(o, "Service")["spec"]["ports"][0].update(name="HTTP"),
        "port name 'HTTP' must be a DNS-1123 label",
    ),
    "port-name-over-15": (set_port_name("http-metrics-api"), "must be an IANA service name"),
    "port-name-uppercase": (set_port_name("Http"), "must be an IANA service name"),
    "port-name-no-letter": (set_port_name("8080"), "must be an IANA service name"),
    "port-name-double-hyphen": (set_port_name("ht--tp"), "must be an IANA service name"),
    "port-name-leading-hyphen": (set_port_name("-http"), "must be an IANA service name"),
    "service-name-digit-first": (rename("Service", "2fa-celsiusify"), "DNS-1035"),
    "service-name-dot": (rename("Service", "celsiusify.v2"), "DNS-1035"),
    "service-name-too-long": (rename("Service", "a" * 64), "DNS-1035"),
    "object-name-uppercase": (rename("Deployment", "Demo"), "DNS-1123 subdomain"),
    "container-name-invalid": (
        lambda o: main(o).update(name="App_1"),
        "container name must be a DNS-1123 label",
    ),
    "label-value-over-63": (
        lambda o: kind(o, "Service")["metadata"]["labels"].update(v="x" * 64),
        "label value",
    ),
    "label-value-bad-character": (
        lambda o: kind(o, "Deployment")["metadata"]["labels"].update(v="1.0 beta"),
        "label value",
    ),
    "label-value-not-string": (
        lambda o: kind(o, "Deployment")["metadata"]["labels"].update(v=1),
        "is not a string",
    ),
    "label-key-invalid": (
        lambda o: kind(o, "Deployment")["spec"]["template"]["metadata"]["labels"].update(
            {"bad key": "x"}
        ),
        "pod template labels: label key 'bad key'",
    ),
    "deployment-selector-not-in-template": (
        lambda o: kind(o, "Deployment")["spec"]["selector"]["matchLabels"].update(v="2"),
        "does not match its pod template's labels",
    ),
    "pdb-selects-nothing": (
        lambda o: kind(o, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"].update(v="2"),
        "PodDisruptionBudget/demo: selector",
    ),
    "service-selects-nothing": (
        lambda o: kind(o, "Service")["spec"]["selector"].update(v="2"),
        "matches no pod template rendered with it",
    ),
    "test-pod-matched-by-selectors": (
        lambda o: kind(o, "Pod")["metadata"]["labels"].update(SELECTOR),
        "selector also matches the bare Pod/demo-test-convert",
    ),
    "test-pod-adopted-by-deployment": (
        lambda o: kind(o, "Pod")["metadata"]["labels"].update(SELECTOR),
        "Deployment/demo: selector matches the bare Pod/demo-test-convert",
    ),
    "pre-stop-sleep-zero": (
        lambda o: main(o)["lifecycle"]["preStop"]["sleep"].update(seconds=0),
        "refused before Kubernetes 1.33",
    ),
    "pre-stop-sleep-beyond-grace": (
        lambda o: pod_spec(o).update(terminationGracePeriodSeconds=4),
        "exceeds terminationGracePeriodSeconds 4s",
    ),
    "cpu-request-over-limit": (
        lambda o: main(o)["resources"]["requests"].update(cpu="1500m"),
        "cpu request 1500m exceeds its limit 1",
    ),
    "memory-request-over-limit": (
        lambda o: main(o)["resources"]["requests"].update(memory="129Mi"),
        "memory request 129Mi exceeds its limit 0.125Gi",
    ),
    "env-value-not-string": (
        lambda o: main(o)["env"][0].update(value=1),
        "env LEVEL value 1 is not a string",
    ),
    "env-value-and-value-from": (
        lambda o: main(o)["env"][0].update(valueFrom={"fieldRef": {"fieldPath": "x"}}),
        "both value and valueFrom",
    ),
    "volume-mount-without-volume": (
        lambda o: pod_spec(o).update(volumes=[]),
        "volumeMount 'tmp' names no volume",
    ),
    "hpa-target-missing": (
        lambda o: kind(o, "HorizontalPodAutoscaler")["spec"]["scaleTargetRef"].update(name="x"),
        "names no rendered object",
    ),
    "hpa-target-wrong-api-version": (
        lambda o: kind(o, "HorizontalPodAutoscaler")["spec"]["scaleTargetRef"].update(
            apiVersion="extensions/v1beta1"
        ),
        "names no rendered object",
    ),
    "hpa-container-without-cpu-request": (
        lambda o: pod_spec(o)["containers"].append({"name": "sidecar", "image": "x"}),
        "container sidecar of Deployment/demo has no cpu request",
    ),
    "hpa-min-over-max": (
        lambda o: kind(o, "HorizontalPodAutoscaler")["spec"].update(minReplicas=6),
        "minReplicas exceeds maxReplicas",
    ),
}


@pytest.mark.parametrize("name", sorted(BREAKS))
def test_each_rule_catches_its_broken_fixture(name: str) -> None:
    objects = release()
    mutate, expected = BREAKS[name]
    mutate(objects)
    found = violations(objects)
    assert any(expected in line for line in found), found


def test_drain_counts_against_the_grace_period() -> None:
    assert violations(release(), drain_seconds=10) == []
    (line,) = violations(release(), drain_seconds=11)
    assert "preStop sleep 5s + drain 11s exceeds terminationGracePeriodSeconds 15s" in line


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("250m", Fraction(1, 4)), ("1", Fraction(1)), (1, Fraction(1)), ("0.5", Fraction(1, 2)),
        ("128Mi", Fraction(128 * 2**20)), ("1Gi", Fraction(2**30)), ("1G", Fraction(10**9)),
        ("1e3", Fraction(1000)), ("100k", Fraction(100_000)), ("1.5", Fraction(3, 2)),
    ],
)  # fmt: skip
def test_parse_quantity(text: object, value: Fraction) -> None:
    assert parse_quantity(text) == value


def test_parse_quantity_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="not a Kubernetes quantity"):
        parse_quantity("1 core")


@pytest.mark.parametrize(
    ("name", "valid"),
    [("http", True), ("loc-master-p1", True), ("h2c", True), ("a" * 15, True),
     ("a" * 16, False), ("8080", False), ("HTTP", False), ("a--b", False), ("a-", False)],
)  # fmt: skip
def test_port_names(name: str, valid: bool) -> None:
    assert is_port_name(name) is valid


# --- NetworkPolicy ---------------------------------------------------------------------------


def policy(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": "demo", "namespace": "ns"},
        "spec": {"podSelector": {"matchLabels": dict(SELECTOR)}, **spec},
    }  # fmt: skip


def in_namespace(objects: Objects, namespace: str) -> Objects:
    for obj in objects:
        obj["metadata"]["namespace"] = namespace
    return objects


HTTP_ONLY = {"ingress": [{"from": [{"podSelector": {}}], "ports": [{"port": "http"}]}]}


def test_a_valid_network_policy_passes() -> None:
    assert violations([*in_namespace(release(), "ns"), policy(**HTTP_ONLY)]) == []


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"podSelector": {"matchLabels": {"app": "other"}}}, "selects no rendered pod"),
        ({"ingress": [{"ports": [{"port": "metrics"}]}]}, "ingress port 'metrics' names no"),
        ({"ingress": [{"ports": [{"port": "HTTP"}]}]}, "not an IANA service name"),
    ],
)
def test_network_policy_rules_catch_their_fixture(spec: dict[str, Any], expected: str) -> None:
    found = violations([*in_namespace(release(), "ns"), policy(**spec)])
    assert any(expected in line for line in found), found


APP = PodEndpoint("ns", dict(SELECTOR), {"http": 8080})
FRIEND = PodEndpoint("load", {"role": "load"})
STRANGER = PodEndpoint("load", {"role": "other"})
NEIGHBOUR = PodEndpoint("ns", {"role": "load"})
DNS = PodEndpoint("kube-system", {"k8s-app": "kube-dns"})
KUBE_NAME = "kubernetes.io/metadata.name"
FROM_FRIEND = {
    "namespaceSelector": {"matchLabels": {KUBE_NAME: "load"}},
    "podSelector": {"matchLabels": {"role": "load"}},
}


def test_no_policy_allows_everything() -> None:
    assert network_policy_allows([], STRANGER, APP, 22)


def test_ingress_peer_needs_both_namespace_and_pod() -> None:
    policies = [policy(ingress=[{"from": [FROM_FRIEND], "ports": [{"port": "http"}]}])]
    assert network_policy_allows(policies, FRIEND, APP, 8080)
    assert not network_policy_allows(policies, FRIEND, APP, 8081)
    assert not network_policy_allows(policies, FRIEND, APP, 8080, "UDP")
    assert not network_policy_allows(policies, STRANGER, APP, 8080)
    assert not network_policy_allows(
        policies, NEIGHBOUR, APP, 8080
    )  # right labels, wrong namespace


def test_pod_selector_alone_means_the_policy_namespace() -> None:
    policies = [policy(ingress=[{"from": [{"podSelector": {"matchLabels": {"role": "load"}}}]}])]
    assert network_policy_allows(policies, NEIGHBOUR, APP, 9999)
    assert not network_policy_allows(policies, FRIEND, APP, 9999)


def test_empty_ingress_isolates_and_egress_is_checked_on_the_sender() -> None:
    deny_in = [policy(policyTypes=["Ingress"], ingress=[])]
    assert not network_policy_allows(deny_in, FRIEND, APP, 8080)
    dns_only = [policy(policyTypes=["Egress"], egress=[{
        "to": [{"namespaceSelector": {"matchLabels": {KUBE_NAME: "kube-system"}},
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
        "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
    }])]  # fmt: skip
    assert network_policy_allows(dns_only, APP, DNS, 53, "UDP")
    assert not network_policy_allows(dns_only, APP, DNS, 443)
    assert not network_policy_allows(dns_only, APP, FRIEND, 53, "UDP")
    assert network_policy_allows(dns_only, FRIEND, APP, 8080)  # ingress not isolated


def test_port_ranges() -> None:
    policies = [policy(ingress=[{"ports": [{"port": 8000, "endPort": 8100}]}])]
    assert network_policy_allows(policies, STRANGER, APP, 8080)
    assert not network_policy_allows(policies, STRANGER, APP, 8101)
