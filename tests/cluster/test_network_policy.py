"""NetworkPolicy enforced on the local cluster (kube-network-policies, scripts/cluster/up.sh).

First the enforcement itself, on a scratch namespace: a connection that worked times out once a
deny-all policy selects its server, and answers again when the policy goes. Then the chart's
policies as examples/network-policy.yaml sets them (its namespaces pointed at the tests' own):
the Locust workers, Prometheus in its own namespace and the kubelet's probes reach the app; a
pod without those labels, in the release's namespace or in another, does not; the app's pods
resolve names (DNS is their only egress) and reach nothing else.

The agent drops the refused connections' packets: a client sees a timeout, never a reset.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.helpers.cluster import Run, cluster_var
from tests.helpers.helm import CHART
from tests.helpers.netpol import (
    APP_PORT,
    agent_state,
    connect,
    connect_until,
    create_namespace,
    pod,
    pod_ip,
    resolve,
    start_pods,
)

pytestmark = pytest.mark.cluster

# Namespaces of this module's own: the release's, the scratch one, Prometheus'.
RELEASE_NAMESPACE = "celsiusify-netpol"
SCRATCH = "celsiusify-netpol-scratch"
MONITORING = "celsiusify-netpol-monitoring"
RELEASE = "celsiusify"
DENY_ALL = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "NetworkPolicy",
    "metadata": {"name": "deny-all"},
    "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
}
# How long the agent may take to act on a new policy or a new pod (measured: under a second).
SETTLE_SECONDS = 15
# The labels examples/network-policy.yaml admits, as the Locust and Prometheus charts set them.
LOCUST_WORKER = {"app.kubernetes.io/name": "locust", "component": "worker"}
PROMETHEUS = {"app.kubernetes.io/name": "prometheus"}


@pytest.fixture(scope="module")
def scratch(kube: Run, api_image: str) -> Iterator[str]:
    """A namespace with a server pod (the app) and a client pod, no policy yet."""
    create_namespace(kube, SCRATCH)
    start_pods(kube, SCRATCH, [pod("server", {}, serve=True), pod("client", {}, serve=False)])
    yield SCRATCH
    kube("delete", "namespace", SCRATCH, "--ignore-not-found", "--wait=false")


def test_a_deny_all_policy_turns_a_working_connection_into_a_timeout(
    kube: Run, scratch: str
) -> None:
    server = pod_ip(kube, scratch, "server")
    assert connect(kube, scratch, "client", server, APP_PORT) == "answered"

    applied = kube("apply", "--namespace", scratch, "-f", "-", stdin=json.dumps(DENY_ALL))
    assert applied.returncode == 0, applied.stderr
    outcome = connect_until(kube, scratch, "client", server, APP_PORT, "timeout", SETTLE_SECONDS)
    if outcome == "answered":
        pytest.fail(
            f"deny-all did not stop a new connection within {SETTLE_SECONDS}s: NetworkPolicy is"
            f" not enforced. {agent_state()}"
        )
    assert outcome == "timeout", f"dropped packets time out; got {outcome!r}"

    deleted = kube("delete", "networkpolicy", "deny-all", "--namespace", scratch)
    assert deleted.returncode == 0, deleted.stderr
    outcome = connect_until(kube, scratch, "client", server, APP_PORT, "answered", SETTLE_SECONDS)
    assert outcome == "answered", f"the policy is gone but the connection still {outcome}s"


@pytest.fixture(scope="module")
def namespace(kube: Run) -> Iterator[str]:
    create_namespace(kube, RELEASE_NAMESPACE)
    yield RELEASE_NAMESPACE
    kube("delete", "namespace", RELEASE_NAMESPACE, "--ignore-not-found", "--wait=false")


@pytest.fixture(scope="module")
def guarded(helm: Run, kube: Run, namespace: str, api_image: str) -> Iterator[dict[str, str]]:
    """The chart with examples/network-policy.yaml (Locust in the release's namespace,
    Prometheus in MONITORING), and the pods that try to reach it; yields their addresses."""
    create_namespace(kube, MONITORING)
    installed = helm(
        "upgrade", "-i", RELEASE, str(CHART), "--namespace", namespace,
        "-f", str(CHART / "examples" / "network-policy.yaml"),
        "--set", f"networkPolicy.ingressFrom.locust.namespace={namespace}",
        "--set", f"networkPolicy.ingressFrom.prometheus.namespace={MONITORING}",
        "--set", "autoscaling.enabled=false", "--set", "replicaCount=1",
        "--wait", "--timeout", "180s",
    )  # fmt: skip
    if installed.returncode != 0:
        pods = kube("get", "pods,events", "--namespace", namespace).stdout
        pytest.fail(f"helm upgrade -i with the NetworkPolicy failed:\n{installed.stderr}\n{pods}")
    start_pods(
        kube,
        namespace,
        [
            pod("locust-worker", LOCUST_WORKER, serve=False),
            pod("stranger", {}, serve=False),
            pod("sink", {}, serve=True),
        ],
    )
    start_pods(
        kube,
        MONITORING,
        [pod("prometheus", PROMETHEUS, serve=False), pod("stranger", {}, serve=False)],
    )
    service = kube("get", "service", RELEASE, "-n", namespace, "-o", "jsonpath={.spec.clusterIP}")
    app = kube("get", "pods", "-n", namespace, "-l", f"app.kubernetes.io/instance={RELEASE}",
               "-o", "jsonpath={.items[0].metadata.name}")  # fmt: skip
    assert service.stdout, service.stderr
    assert app.stdout, app.stderr
    yield {"service": service.stdout, "app": app.stdout, "sink": pod_ip(kube, namespace, "sink")}
    kube("delete", "namespace", MONITORING, "--ignore-not-found", "--wait=false")


@pytest.mark.parametrize(
    ("client", "where"),
    [("locust-worker", "release"), ("prometheus", "monitoring")],
    ids=["locust-worker", "prometheus-other-namespace"],
)
def test_the_sources_the_policy_names_reach_the_app(
    kube: Run, namespace: str, guarded: dict[str, str], client: str, where: str
) -> None:
    ns = namespace if where == "release" else MONITORING
    assert connect(kube, ns, client, guarded["service"], 80) == "answered"


@pytest.mark.parametrize("where", ["release", "monitoring"])
def test_a_pod_without_those_labels_times_out(
    kube: Run, namespace: str, guarded: dict[str, str], where: str
) -> None:
    ns = namespace if where == "release" else MONITORING
    outcome = connect_until(kube, ns, "stranger", guarded["service"], 80, "timeout", SETTLE_SECONDS)
    assert outcome == "timeout", f"{ns}/stranger: {outcome}. {agent_state()}"


def test_the_kubelet_probes_pass_the_policy(
    kube: Run, namespace: str, guarded: dict[str, str]
) -> None:
    """The pod was Ready for helm --wait, and stays so: its probes come from the node."""
    ready = kube("get", "pod", guarded["app"], "-n", namespace,
                 "-o", 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')  # fmt: skip
    assert ready.stdout == "True", ready.stdout + ready.stderr


def test_the_app_resolves_names_through_the_cluster_dns(
    kube: Run, namespace: str, guarded: dict[str, str]
) -> None:
    address = resolve(kube, namespace, guarded["app"], "kubernetes.default.svc.cluster.local")
    assert address == cluster_var("KUBERNETES_SVC_IP"), address


def test_egress_the_policy_does_not_allow_times_out(
    kube: Run, namespace: str, guarded: dict[str, str]
) -> None:
    # The sink answers a pod that no egress policy holds back...
    assert connect(kube, namespace, "stranger", guarded["sink"], APP_PORT) == "answered"
    # ...but not the app, whose only egress is DNS.
    outcome = connect(kube, namespace, guarded["app"], guarded["sink"], APP_PORT)
    assert outcome == "timeout", f"app -> sink: {outcome}. {agent_state()}"
