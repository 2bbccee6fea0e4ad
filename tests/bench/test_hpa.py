"""--kube-hpa: the watcher parses `kubectl get hpa -o json` (a stand-in kubectl here)."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

from bench.hpa import HpaWatcher, parse_hpa

HPA = {
    "apiVersion": "autoscaling/v2",
    "kind": "HorizontalPodAutoscaler",
    "status": {
        "currentReplicas": 2,
        "desiredReplicas": 4,
        "currentMetrics": [
            {
                "type": "Resource",
                "resource": {"name": "cpu", "current": {"averageUtilization": 87}},
            }
        ],
    },
}  # fmt: skip


def test_parse_hpa() -> None:
    assert parse_hpa(HPA) == {
        "current_replicas": 2, "desired_replicas": 4, "cpu_utilization_percent": 87,
    }  # fmt: skip
    assert parse_hpa({"status": {"currentReplicas": 1}})["cpu_utilization_percent"] is None


def test_watcher_writes_replicas_csv(tmp_path: Path) -> None:
    kubectl = tmp_path / "kubectl"
    (tmp_path / "hpa.json").write_text(json.dumps(HPA))
    kubectl.write_text(
        "#!/bin/sh\n"
        '[ "$*" = "get hpa celsiusify -o json" ] || { echo "bad args: $*" >&2; exit 1; }\n'
        f"cat {tmp_path / 'hpa.json'}\n"
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
    assert watcher.errors == []


def test_watcher_records_kubectl_errors_once(tmp_path: Path) -> None:
    watcher = HpaWatcher("x", tmp_path / "replicas.csv", 0.1, kubectl=str(tmp_path / "missing"))
    watcher.start()
    time.sleep(0.35)
    watcher.stop()
    assert len(watcher.errors) == 1
    assert watcher.samples == 0
