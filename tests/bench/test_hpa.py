"""--kube-hpa: the watcher parses `kubectl get hpa -o json` (a stand-in kubectl here)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.measure.hpa import HpaWatcher, millicores, parse_hpa

ROOT = Path(__file__).resolve().parents[2]

HPA = {
    "apiVersion": "autoscaling/v2",
    "kind": "HorizontalPodAutoscaler",
    "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                "name": "celsiusify"}},
    "status": {
        "currentReplicas": 2,
        "desiredReplicas": 4,
        "currentMetrics": [
            {
                "type": "Resource",
                "resource": {"name": "cpu",
                             "current": {"averageUtilization": 87, "averageValue": "217m"}},
            }
        ],
    },
}  # fmt: skip


def test_parse_hpa() -> None:
    assert parse_hpa(HPA) == {
        "current_replicas": 2, "desired_replicas": 4, "cpu_utilization_percent": 87,
        "cpu_average_millicores": 217,
    }  # fmt: skip
    assert parse_hpa({"status": {"currentReplicas": 1}})["cpu_utilization_percent"] is None


def test_watcher_writes_replicas_csv(tmp_path: Path) -> None:
    kubectl = tmp_path / "kubectl"
    (tmp_path / "hpa.json").write_text(json.dumps(HPA))
    (tmp_path / "deployment.json").write_text(json.dumps({"status": {"readyReplicas": 1}}))
    kubectl.write_text(
        "#!/bin/sh\n"
        f'[ "$*" = "get hpa celsiusify -o json" ] && exec cat {tmp_path}/hpa.json\n'
        f'[ "$*" = "get deployment/celsiusify -o json" ] && exec cat {tmp_path}/deployment.json\n'
        'echo "bad args: $*" >&2; exit 1\n'
    )
    kubectl.chmod(0o755)
    watcher = HpaWatcher("celsiusify", tmp_path / "replicas.csv", 0.1, kubectl=str(kubectl))
    watcher.start()
    time.sleep(0.6)
    watcher.stop()
    rows = list(csv.DictReader((tmp_path / "replicas.csv").open()))
    assert len(rows) >= 2
    assert rows[0]["desired_replicas"] == "4"
    assert rows[0]["cpu_utilization_percent"] == "87"
    assert rows[0]["cpu_average_millicores"] == "217.0"
    assert rows[0]["ready_replicas"] == "1"  # the Deployment's, not the HPA's currentReplicas
    assert watcher.errors == []


def test_watcher_records_kubectl_errors_once(tmp_path: Path) -> None:
    watcher = HpaWatcher("x", tmp_path / "replicas.csv", 0.1, kubectl=str(tmp_path / "missing"))
    watcher.start()
    time.sleep(0.35)
    watcher.stop()
    assert len(watcher.errors) == 1
    assert watcher.samples == 0


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [("250m", 250), ("1", 1000), ("0.5", 500), ("125000u", 125), ("2500000n", 2.5), (None, None),
     ("lots", None)],
)  # fmt: skip
def test_cpu_quantities_in_millicores(quantity: str | None, expected: float | None) -> None:
    assert millicores(quantity) == (pytest.approx(expected) if expected is not None else None)


def test_standalone_recorder_for_in_cluster_runs(tmp_path: Path) -> None:
    """`python -m bench hpa NAME --seconds N`: the file `bench import --replicas` takes."""
    kubectl = tmp_path / "kubectl"
    (tmp_path / "hpa.json").write_text(json.dumps(HPA))
    kubectl.write_text(f"#!/bin/sh\ncat {tmp_path}/hpa.json\n")
    kubectl.chmod(0o755)
    out = tmp_path / "replicas.csv"
    result = subprocess.run(
        [sys.executable, "-m", "bench", "hpa", "celsiusify", "--out", str(out), "--interval", "0.1",
         "--seconds", "0.5", "--kubectl", str(kubectl)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    rows = list(csv.DictReader(out.open()))
    assert len(rows) >= 2
    assert rows[0]["current_replicas"] == "2"
