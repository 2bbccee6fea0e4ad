"""The chart's alerts and dashboard against a real Prometheus (scripts/cluster/up.sh starts it).

Prometheus discovers the release's pods as the chart's ServiceMonitor would have it (job = the
Service's name) and evaluates the chart's rendered PrometheusRule, loaded as a rule file. The
release sheds load (CELSIUSIFY_MAX_REQUESTS_IN_FLIGHT=1): concurrent requests get 503, and
CelsiusifyHighErrorRatio goes pending, then firing, in /api/v1/alerts. Then every query of the
chart's Grafana dashboard runs against the same Prometheus and must return data, except those
of kube-state-metrics, which this cluster does not run (its module is not on the proxy here):
for them the test checks that no kube_* series exists at all, so a wrong name still fails.
"""

from __future__ import annotations

import http.client
import os
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from tests.helpers.cluster import Run, wait_until_programmed
from tests.helpers.helm import CHART
from tests.helpers.netpol import create_namespace
from tests.helpers.prometheus import (
    Prometheus,
    dashboard,
    dashboard_queries,
    rule_groups,
    variable_queries,
)

pytestmark = pytest.mark.cluster

RELEASE = "celsiusify"
# A new name each run: the rules' 5-minute windows must not see an earlier run's 503s.
NAMESPACE = f"celsiusify-prometheus-{os.getpid()}"
ALERT = "CelsiusifyHighErrorRatio"
# The rule as the chart renders it, with `for` short enough for a test (default 5m).
RULE_VALUES = (
    "--set", "metrics.prometheusRule.enabled=true",
    "--set", "metrics.prometheusRule.force=true",
    "--set", "metrics.prometheusRule.errorRatioFor=10s",
)  # fmt: skip
# One request at a time per pod, one pod: concurrent requests are shed with 503. A connection
# that sends nothing is closed after 1 s (counted as idle_timeout: the dashboard's
# connections-closed panel has data once one such connection was made).
RELEASE_VALUES = (
    "--set", "autoscaling.enabled=false",
    "--set", "replicaCount=1",
    "--set-string", "env.CELSIUSIFY_MAX_REQUESTS_IN_FLIGHT=1",
    "--set-string", "env.CELSIUSIFY_HEADER_TIMEOUT_SECONDS=1",
)  # fmt: skip
# Enough overlap for a 5xx share far above the 1% threshold, without taking a core of a shared
# machine: 4 keep-alive clients, a pause of PAUSE_SECONDS between requests.
LOAD_CLIENTS = 4
PAUSE_SECONDS = 0.002
LOAD_SECONDS_MAX = 120


@pytest.fixture(scope="module")
def prometheus(kube: Run) -> Prometheus:
    server = Prometheus.of_the_cluster()
    if not server.ready():
        pytest.fail(
            f"the local cluster's Prometheus does not answer at {server.url}: "
            "scripts/cluster/up.sh --only start_prometheus"
        )
    return server


@pytest.fixture(scope="module")
def namespace(kube: Run) -> Iterator[str]:
    """A namespace of this module's own (Pod Security restricted), deleted afterwards."""
    create_namespace(kube, NAMESPACE)
    yield NAMESPACE
    kube("delete", "namespace", NAMESPACE, "--ignore-not-found", "--wait=false")


@pytest.fixture(scope="module")
def release(helm: Run, kube: Run, namespace: str, api_image: str) -> str:
    """The release, shedding load; yields its Service's ClusterIP."""
    installed = helm("upgrade", "-i", RELEASE, str(CHART), "--namespace", namespace,
                     *RELEASE_VALUES, "--wait", "--timeout", "180s")  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    ip = kube("get", "service", RELEASE, "-n", namespace, "-o", "jsonpath={.spec.clusterIP}")
    assert ip.stdout, ip.stderr
    wait_until_programmed(f"http://{ip.stdout}/readyz")
    return ip.stdout


@pytest.fixture(scope="module")
def rules(helm: Run, namespace: str, prometheus: Prometheus) -> Iterator[list[dict[str, Any]]]:
    """The chart's PrometheusRule groups for this release, loaded into Prometheus."""
    rendered = helm("template", RELEASE, str(CHART), "--namespace", namespace,
                    *RELEASE_VALUES, *RULE_VALUES)  # fmt: skip
    assert rendered.returncode == 0, rendered.stderr
    groups = rule_groups(rendered.stdout)
    path = prometheus.load_rules(f"{namespace}-{RELEASE}", groups)
    yield groups
    path.unlink()
    prometheus.reload()


def targets_up(prometheus: Prometheus, namespace: str) -> list[dict[str, Any]]:
    active = prometheus.api("targets", state="active")["activeTargets"]
    return [
        t
        for t in active
        if t["labels"].get("namespace") == namespace
        and t["labels"].get("job") == RELEASE
        and t["health"] == "up"
    ]


def test_prometheus_scrapes_the_release_pods_as_the_service_monitor_would(
    prometheus: Prometheus, release: str, namespace: str
) -> None:
    up = prometheus.wait(
        "a target of the release up", 60, lambda: targets_up(prometheus, namespace)
    )
    labels = up[0]["labels"]
    print({k: labels[k] for k in ("job", "namespace", "service", "pod", "endpoint", "instance")})
    assert labels["service"] == RELEASE, labels
    assert labels["endpoint"] == "http", labels
    assert prometheus.query(f'celsiusify_build_info{{namespace="{namespace}", job="{RELEASE}"}}')


def shed(host: str, stop: threading.Event, counts: Counter[str]) -> None:
    """GET /convert on one keep-alive connection until stop; counts answers by status."""
    conn = http.client.HTTPConnection(host, 80, timeout=5)
    while not stop.is_set():
        try:
            conn.request("GET", "/convert?fahrenheit=212")
            response = conn.getresponse()
            response.read()
            counts[str(response.status)] += 1
            if response.getheader("connection", "").lower() == "close":
                conn.close()
            time.sleep(PAUSE_SECONDS)
        except (OSError, http.client.HTTPException) as error:
            counts[type(error).__name__] += 1
            conn.close()
            time.sleep(0.05)
    conn.close()


@pytest.fixture(scope="module")
def fired(
    prometheus: Prometheus, release: str, rules: list[dict[str, Any]], namespace: str
) -> dict[str, Any]:
    """Load until the alert fires (at most LOAD_SECONDS_MAX); when it went pending and firing."""
    prometheus.wait("a target of the release up", 60, lambda: targets_up(prometheus, namespace))
    assert not prometheus.alerts(ALERT), "the alert is active before any load"
    stop, counts = threading.Event(), Counter[str]()
    clients = [
        threading.Thread(target=shed, args=(release, stop, counts), daemon=True)
        for _ in range(LOAD_CLIENTS)
    ]
    start = time.monotonic()
    for client in clients:
        client.start()
    silent = socket.create_connection((release, 80), timeout=5)
    seen: dict[str, Any] = {"counts": counts}
    try:
        while time.monotonic() - start < LOAD_SECONDS_MAX:
            for alert in prometheus.alerts(ALERT):
                seen.setdefault(alert["state"], time.monotonic() - start)
                seen["alert"] = alert
            if "firing" in seen:
                break
            time.sleep(1)
    finally:
        stop.set()
        for client in clients:
            client.join(10)
        seen["silent closed by the server"] = silent.recv(1) == b""
        silent.close()
    return seen


def test_the_error_ratio_alert_fires_when_the_release_sheds_load(fired: dict[str, Any]) -> None:
    counts = fired["counts"]
    print(f"answers: {dict(counts)}; pending after {fired.get('pending', float('nan')):.0f}s,"
          f" firing after {fired.get('firing', float('nan')):.0f}s")  # fmt: skip
    assert counts["503"] > 0, dict(counts)
    assert fired["silent closed by the server"]
    assert counts["200"] > 0, dict(counts)
    assert "firing" in fired, f"{ALERT} never fired in {LOAD_SECONDS_MAX}s: {fired}"
    alert = fired["alert"]
    print(alert)
    assert alert["labels"]["severity"] == "warning"
    assert float(alert["value"]) > 0.01


def test_every_dashboard_query_returns_data(
    helm: Run, prometheus: Prometheus, fired: dict[str, Any], namespace: str
) -> None:
    rendered = helm("template", RELEASE, str(CHART), "--namespace", namespace,
                    "--set", "dashboard.enabled=true")  # fmt: skip
    assert rendered.returncode == 0, rendered.stderr
    board = dashboard(rendered.stdout)
    values = {"namespace": namespace, "job": RELEASE, "__rate_interval": "1m"}

    for name, (selector, label) in variable_queries(board).items():
        matched = selector.replace("$namespace", namespace)
        found = {s.get(label) for s in prometheus.api("series", **{"match[]": matched})}
        print(f"variable {name}: label_values({matched}, {label}) = {sorted(found - {None})}")
        assert values[name] in found, (name, matched, found)

    no_kube_state_metrics = not prometheus.query('count({__name__=~"kube_.+"})')
    empty = []
    for title, expr in dashboard_queries(board, values).items():
        result = prometheus.query(expr)
        print(f"{title}: {len(result)} series {[r['value'][1] for r in result][:4]}")
        if not result:
            empty.append((title, expr))
    # kube-state-metrics' series are absent from this cluster altogether: nothing exports them.
    absent = [(t, e) for t, e in empty if no_kube_state_metrics and "kube_" in e]
    assert [q for q in empty if q not in absent] == [], "queries with no data"
    print(f"no data without kube-state-metrics: {[t for t, _ in absent]}")
