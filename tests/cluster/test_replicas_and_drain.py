"""Three replicas behind a real kube-proxy: every identifier answers, and a rolling update and a
scale-down under steady load lose no request (preStop sleep + the app's drain).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator

import pytest

from tests.helpers.cluster import Run, wait_until_programmed
from tests.helpers.helm import CHART

pytestmark = pytest.mark.cluster

RELEASE = "celsiusify-r3"


@pytest.fixture(scope="module")
def release(helm: Run, kube: Run, namespace: str, api_image: str) -> Iterator[str]:
    installed = helm(
        "upgrade", "-i", RELEASE, str(CHART), "--namespace", namespace, "--wait", "--timeout",
        "300s", "--set", "autoscaling.enabled=false", "--set", "replicaCount=3",
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    out = kube("get", "service", RELEASE, "-n", namespace, "-o", "jsonpath={.spec.clusterIP}")
    url = f"http://{out.stdout.strip()}/convert?fahrenheit=212"
    wait_until_programmed(url)
    yield url
    helm("uninstall", RELEASE, "--namespace", namespace, "--wait", "--timeout", "120s")


def identifier(url: str, timeout: float = 5) -> str:
    # urllib opens a new connection per request: each one may reach another pod.
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return str(json.loads(response.read())["app_identifier"])


def test_requests_reach_all_three_replicas(release: str) -> None:
    """helm --wait returns once the pods are Ready; kube-proxy programs each new endpoint a
    moment later, so keep asking (up to 30 s) until all three identifiers have answered."""
    seen: Counter[str] = Counter()
    deadline = time.monotonic() + 30
    while len(seen) < 3 and time.monotonic() < deadline:
        seen[identifier(release)] += 1
        time.sleep(0.05)
    assert len(seen) == 3, seen
    print(f"identifiers after {seen.total()} requests: {dict(seen)}")


class SteadyLoad(threading.Thread):
    """GET the Service in a loop (new connection each time) until stopped; counts outcomes."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.ok, self.errors = url, 0, Counter[str]()
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                identifier(self.url)
                self.ok += 1
            except Exception as exc:  # every failure kind is counted
                self.errors[type(exc).__name__ + ": " + str(exc)[:80]] += 1
            time.sleep(0.02)


def under_load(url: str, *actions: tuple[str, ...], kube: Run, pods: str = "") -> SteadyLoad:
    """Run the kubectl actions while SteadyLoad runs; with pods (a label selector), also wait
    until only one pod is left (terminating pods included: the drain happens then)."""
    load = SteadyLoad(url)
    load.start()
    time.sleep(2)
    for action in actions:
        done = kube(*action, timeout=300)
        assert done.returncode == 0, done.stderr
    deadline = time.monotonic() + 90
    while pods and len(kube("get", "pods", "-l", pods, "-A", "-o", "name").stdout.split()) > 1:
        assert time.monotonic() < deadline, "terminating pods did not go away"
        time.sleep(1)
    time.sleep(3)
    load.stop.set()
    load.join(timeout=10)
    return load


def test_rolling_update_under_load_loses_no_request(
    release: str, kube: Run, namespace: str
) -> None:
    load = under_load(
        release,
        ("rollout", "restart", f"deployment/{RELEASE}", "-n", namespace),
        ("rollout", "status", f"deployment/{RELEASE}", "-n", namespace, "--timeout", "240s"),
        kube=kube,
    )
    print(f"rolling update: {load.ok} answered, errors {dict(load.errors)}")
    assert load.ok > 50
    assert not load.errors


def test_scale_down_under_load_loses_no_request(release: str, kube: Run, namespace: str) -> None:
    load = under_load(
        release,
        ("scale", f"deployment/{RELEASE}", "-n", namespace, "--replicas", "1"),
        ("rollout", "status", f"deployment/{RELEASE}", "-n", namespace, "--timeout", "120s"),
        kube=kube,
        pods=f"app.kubernetes.io/instance={RELEASE},app.kubernetes.io/name=celsiusify",
    )
    print(f"scale-down: {load.ok} answered, errors {dict(load.errors)}")
    assert load.ok > 50
    assert not load.errors
