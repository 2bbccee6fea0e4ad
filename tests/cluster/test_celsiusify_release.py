"""The celsiusify chart with its defaults on the local cluster: install, helm test, the Service.

One release per module (fixture `release`), in a namespace of the tests' own, uninstalled after.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
import time
import urllib.request
from collections.abc import Iterator

import pytest

from tests.helpers.cluster import KUBECONFIG, Run, wait_until_programmed
from tests.helpers.helm import CHART

pytestmark = pytest.mark.cluster

RELEASE = "celsiusify"


@pytest.fixture(scope="module")
def release(helm: Run, kube: Run, namespace: str, api_image: str) -> Iterator[dict[str, float]]:
    """`helm upgrade -i --wait` with the chart's defaults; yields how long it took."""
    start = time.monotonic()
    installed = helm(
        "upgrade",
        "-i",
        RELEASE,
        str(CHART),
        "--namespace",
        namespace,
        "--wait",
        "--timeout",
        "300s",
    )
    took = time.monotonic() - start
    if installed.returncode != 0:
        pods = kube("get", "pods,events", "--namespace", namespace, "-o", "wide").stdout
        pytest.fail(f"helm upgrade -i failed after {took:.0f}s:\n{installed.stderr}\n{pods}")
    ip = service_ip(kube, namespace)
    wait_until_programmed(f"http://{ip}/readyz")
    yield {"install_seconds": took, "programmed_seconds": time.monotonic() - start - took}
    helm("uninstall", RELEASE, "--namespace", namespace, "--wait", "--timeout", "120s")


def service_ip(kube: Run, namespace: str) -> str:
    out = kube(
        "get", "service", RELEASE, "--namespace", namespace, "-o", "jsonpath={.spec.clusterIP}"
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def get_json(url: str, timeout: float = 5) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        assert response.status == 200
        return json.loads(response.read())


def test_install_with_defaults_waits_for_ready_pods(
    release: dict[str, float], kube: Run, namespace: str
) -> None:
    deploy = json.loads(kube("get", "deployment", RELEASE, "-n", namespace, "-o", "json").stdout)
    # The defaults turn the HPA on (minReplicas 1), so replicaCount is not rendered.
    wanted = deploy["spec"]["replicas"]
    assert wanted >= 1
    assert deploy["status"].get("readyReplicas") == wanted, deploy["status"]
    print(
        f"helm upgrade -i --wait took {release['install_seconds']:.1f}s; the Service answered"
        f" {release['programmed_seconds']:.1f}s later"
    )


def test_helm_test_passes(release: dict[str, float], helm: Run, namespace: str) -> None:
    tested = helm("test", RELEASE, "--namespace", namespace, "--timeout", "180s")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "Phase:          Succeeded" in tested.stdout, tested.stdout


def test_service_answers_convert(release: dict[str, float], kube: Run, namespace: str) -> None:
    """Through kube-proxy's ClusterIP rules (host → Service → pod on the cluster's bridge)."""
    ip = service_ip(kube, namespace)
    body = get_json(f"http://{ip}/convert?fahrenheit=212")
    assert body["celsius"] == "100.000000", body


def test_service_name_resolves_through_cluster_dns(
    release: dict[str, float], kube: Run, namespace: str
) -> None:
    """CoreDNS answers <service>.<namespace>.svc.cluster.local with the Service's ClusterIP."""
    name = f"{RELEASE}.{namespace}.svc.cluster.local"
    query = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0)
    query += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    query += struct.pack(">HH", 1, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(3)
        sock.sendto(query, ("10.96.0.10", 53))
        answer = sock.recv(512)
    assert answer[3] & 0x0F == 0, "DNS error code"
    assert socket.inet_ntoa(answer[-4:]) == service_ip(kube, namespace)


def test_notes_port_forward_command_works(
    release: dict[str, float], kubectl: str, namespace: str
) -> None:
    """NOTES: kubectl port-forward service/<name> 8080:80, then curl the example path."""
    port = 18080
    forward = subprocess.Popen(
        [kubectl, "port-forward", "--namespace", namespace, f"service/{RELEASE}", f"{port}:80"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "KUBECONFIG": KUBECONFIG},
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                body = get_json(f"http://127.0.0.1:{port}/convert?fahrenheit=212")
                break
            except OSError:
                if time.monotonic() > deadline or forward.poll() is not None:
                    raise
                time.sleep(0.5)
        assert body["celsius"] == "100.000000"
    finally:
        forward.terminate()
        forward.wait(timeout=10)


def test_metrics_api_answers_for_the_release(
    release: dict[str, float], kube: Run, namespace: str
) -> None:
    """metrics-server registered as metrics.k8s.io: kubectl top sees the release's pods."""
    deadline = time.monotonic() + 120
    while True:
        top = kube("top", "pods", "--namespace", namespace, "--no-headers")
        if top.returncode == 0 and top.stdout.count(RELEASE) >= 1:
            break
        assert time.monotonic() < deadline, top.stdout + top.stderr
        time.sleep(5)


def test_hpa_reads_cpu_utilisation(release: dict[str, float], kube: Run, namespace: str) -> None:
    """The chart's HPA (on by default) gets a current CPU utilisation from the metrics API."""
    deadline = time.monotonic() + 120
    while True:
        hpa = json.loads(kube("get", "hpa", RELEASE, "-n", namespace, "-o", "json").stdout)
        current = hpa.get("status", {}).get("currentMetrics") or []
        cpu = [m for m in current if m.get("resource", {}).get("name") == "cpu"]
        if cpu and "averageUtilization" in cpu[0]["resource"]["current"]:
            break
        assert time.monotonic() < deadline, hpa.get("status")
        time.sleep(5)
