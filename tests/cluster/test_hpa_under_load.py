"""The chart's HPA under Locust load on the local cluster: `bench run --kube-hpa` drives a step
load at the Service and records replicas.csv; the Deployment goes above one replica within a
bound, and back to one after the load (test values shorten the scale-down window).

The load starts only once the HPA has computed a CPU utilisation: a new HPA shows
`currentMetrics: [{"type": ""}]` and `desiredReplicas: 0` until then (measured here: 30-36 s
after the install, first "no metrics returned from resource metrics API", then "did not receive
metrics for targeted pods (pods might be unready)" for the samples taken within one metric window
of the pod becoming Ready). An earlier version waited for any currentMetrics, so its bound
measured that warm-up, and a run whose pod was not Ready during the load recorded desired
replicas 0 throughout.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.cluster import KUBECONFIG, Run, wait_until_programmed
from tests.helpers.helm import CHART, ROOT

pytestmark = pytest.mark.cluster

RELEASE = "celsiusify-hpa"
SCALE_UP_BOUND_SECONDS = 120  # metrics-server resolution 15 s + HPA sync 5 s + pod start
SCALE_DOWN_BOUND_SECONDS = 180


@pytest.fixture(scope="module")
def release(helm: Run, kube: Run, namespace: str, api_image: str) -> Iterator[str]:
    installed = helm(
        "upgrade", "-i", RELEASE, str(CHART), "--namespace", namespace, "--wait",
        "--timeout", "300s", "--set", "autoscaling.maxReplicas=3",
        "--set", "autoscaling.behavior.scaleDown.stabilizationWindowSeconds=15",
        # --set on a list element replaces the whole list: give the policy all its fields.
        "--set", "autoscaling.behavior.scaleDown.policies[0].type=Percent",
        "--set", "autoscaling.behavior.scaleDown.policies[0].value=100",
        "--set", "autoscaling.behavior.scaleDown.policies[0].periodSeconds=15",
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    ip = kube("get", "service", RELEASE, "-n", namespace, "-o", "jsonpath={.spec.clusterIP}")
    url = f"http://{ip.stdout.strip()}"
    wait_until_programmed(f"{url}/readyz")
    yield url
    helm("uninstall", RELEASE, "--namespace", namespace, "--wait", "--timeout", "120s")


def hpa_status(kube: Run, namespace: str) -> dict[str, object]:
    out = kube("get", "hpa", RELEASE, "-n", namespace, "-o", "json")
    return dict(json.loads(out.stdout).get("status", {}))


def cpu_utilization(status: dict[str, object]) -> int | None:
    """The CPU utilisation the HPA computed, or None while it has none.

    When the HPA cannot compute a metric (no sample from metrics-server yet for a new pod, or
    the pod not Ready), the controller still writes `currentMetrics: [{"type": ""}]` and keeps
    the previous desiredReplicas, 0 for a new HPA (pkg/controller/podautoscaler/horizontal.go,
    computeReplicasForMetrics and setCurrentReplicasAndMetricsInStatus, v1.37.2). A non-empty
    currentMetrics therefore says nothing: only a computed averageUtilization does.
    """
    for metric in status.get("currentMetrics") or []:  # type: ignore[attr-defined]
        resource = metric.get("resource") or {}
        if resource.get("name") == "cpu" and "averageUtilization" in resource.get("current", {}):
            return int(resource["current"]["averageUtilization"])
    return None


def condition_messages(status: dict[str, object]) -> str:
    return "\n".join(
        f"{c['type']}={c['status']} {c.get('reason')}: {c.get('message')}"
        for c in status.get("conditions") or []  # type: ignore[attr-defined]
    )


def test_hpa_scales_up_under_load_and_back_down(
    release: str, kube: Run, kubectl: str, namespace: str, tmp_path: Path
) -> None:
    # The HPA must have computed a CPU utilisation and a desired count before the load starts,
    # or the bound measures metrics warm-up (and a failed first computation leaves it at 0).
    deadline = time.monotonic() + 120
    while True:
        status = hpa_status(kube, namespace)
        if cpu_utilization(status) is not None and int(str(status.get("desiredReplicas"))) >= 1:
            break
        assert time.monotonic() < deadline, "the HPA never computed CPU:\n" + condition_messages(
            status
        )
        time.sleep(2)
    print(f"HPA reading CPU {time.monotonic() - deadline + 120:.0f}s after the install")
    # bench.measure.hpa runs `kubectl get hpa NAME`: a kubeconfig whose context names the namespace.
    config = tmp_path / "kubeconfig"
    config.write_text(Path(KUBECONFIG).read_text())
    env = {**os.environ, "KUBECONFIG": str(config)}
    env["PATH"] = f"{Path(kubectl).parent}{os.pathsep}{env['PATH']}"
    subprocess.run(
        [kubectl, "config", "set-context", "--current", "--namespace", namespace],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    run_dir = tmp_path / "run"
    started = time.time()
    bench = subprocess.run(
        [sys.executable, "-m", "bench", "run", "--url", release, "--target", "celsiusify-cluster",
         "--kube-hpa", RELEASE, "--hpa-interval", "2", "--start-users", "8", "--step-users", "8",
         "--step-seconds", "20", "--max-users", "24", "--run-dir", str(run_dir)],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=400, check=False,
    )  # fmt: skip
    assert bench.returncode == 0, bench.stdout[-3000:] + bench.stderr[-3000:]
    with (run_dir / "replicas.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert rows, "replicas.csv is empty"
    # A pod that is not Ready under load gets no traffic, and while it is younger than the HPA's
    # CPU initialisation period (5 min) its CPU samples are ignored ("did not receive metrics for
    # targeted pods (pods might be unready)"): the HPA then cannot scale at all. Say so first.
    unready = [r for r in rows if (r.get("ready_replicas") or "x") == "0"]
    if unready:
        events = kube("get", "events", "-n", namespace, "--field-selector", "reason=Unhealthy")
        pytest.fail(
            f"no Ready pod in {len(unready)} of {len(rows)} samples during the load; the HPA"
            f" ignores unready pods' CPU:\n{condition_messages(hpa_status(kube, namespace))}\n"
            f"{events.stdout[-3000:]}"
        )
    above = [r for r in rows if int(r.get("desired_replicas") or 0) > 1]
    if not above:
        events = kube("get", "events", "-n", namespace, "--sort-by=.lastTimestamp").stdout
        table = "\n".join(",".join(str(v) for v in r.values()) for r in rows)
        conditions = condition_messages(hpa_status(kube, namespace))
        pytest.fail(
            f"the HPA never asked for more than one replica:\n{table}\n{conditions}\n"
            f"{events[-4000:]}"
        )
    first = float(above[0]["timestamp"]) - started
    peak = max(int(r.get("ready_replicas") or 0) for r in rows)
    print(f"HPA asked for >1 replica {first:.0f}s after the load started; ready peak {peak}")
    assert first < SCALE_UP_BOUND_SECONDS
    assert peak > 1
    # After the load: back to one replica.
    load_end = time.monotonic()
    while int(str(hpa_status(kube, namespace).get("desiredReplicas", 0))) > 1:
        assert time.monotonic() - load_end < SCALE_DOWN_BOUND_SECONDS, hpa_status(kube, namespace)
        time.sleep(3)
    print(f"HPA back to one replica {time.monotonic() - load_end:.0f}s after the load")


def test_cpu_gate_ignores_the_status_of_an_hpa_that_has_not_computed_yet() -> None:
    """The status a new HPA showed here for its first 30-36 s (the old gate let the load start on
    it), and the one it showed once metrics-server's samples counted."""
    fresh = {"desiredReplicas": 0, "currentReplicas": 1, "currentMetrics": [{"type": ""}]}
    assert cpu_utilization(fresh) is None
    computed = {
        "desiredReplicas": 1,
        "currentMetrics": [
            {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 1}}}
        ],
    }
    assert cpu_utilization(computed) == 1
