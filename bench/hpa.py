"""--kube-hpa: poll the HPA (and the workload it scales) with kubectl; append to replicas.csv.

Each sample: the HPA's current and desired replicas, its CPU utilisation (percent of the
pods' CPU request) and average CPU per pod (millicores, the HPA's own averageValue, so the
report can plot the pods' CPU of in-cluster runs), and the scale target's ready replicas
(`kubectl get <kind>/<name>`: the HPA's currentReplicas counts pods that are not Ready yet).
Columns: bench.results.REPLICAS_COLUMNS.
"""

from __future__ import annotations

import csv
import json
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from bench.results import REPLICAS_COLUMNS

COLUMNS = REPLICAS_COLUMNS
_QUANTITY_SCALE = {"n": 1e-6, "u": 1e-3, "m": 1.0, "": 1000.0}


def millicores(quantity: str | float | int | None) -> float | None:
    """A Kubernetes CPU quantity ("250m", "1", "0.5", "125000u") in millicores."""
    if quantity is None:
        return None
    text = str(quantity).strip()
    suffix = text[-1] if text and text[-1] in "num" else ""
    try:
        return float(text.removesuffix(suffix)) * _QUANTITY_SCALE[suffix]
    except ValueError:
        return None


def parse_hpa(document: dict[str, Any]) -> dict[str, Any]:
    """current/desired replicas and the CPU utilisation from an autoscaling/v2 HPA."""
    status = document.get("status", {})
    utilization, average = None, None
    for metric in status.get("currentMetrics") or []:
        resource = metric.get("resource") or {}
        if resource.get("name") == "cpu":
            current = resource.get("current", {})
            utilization = current.get("averageUtilization")
            average = millicores(current.get("averageValue"))
    return {
        "current_replicas": status.get("currentReplicas"),
        "desired_replicas": status.get("desiredReplicas"),
        "cpu_utilization_percent": utilization,
        "cpu_average_millicores": average,
    }


def scale_target(document: dict[str, Any]) -> str | None:
    """`kind/name` of the workload the HPA scales, for kubectl get."""
    ref = document.get("spec", {}).get("scaleTargetRef") or {}
    if not ref.get("kind") or not ref.get("name"):
        return None
    return f"{str(ref['kind']).lower()}/{ref['name']}"


class HpaWatcher(threading.Thread):
    """Background poller; stop() ends it. Failures are recorded once, never raised."""

    def __init__(self, name: str, path: Path, interval: float = 5.0, kubectl: str = "kubectl"):
        super().__init__(daemon=True)
        self.hpa_name, self.path, self.interval, self.kubectl = name, path, interval, kubectl
        self.errors: list[str] = []
        self.samples = 0
        self._stop_event = threading.Event()

    def _get(self, what: str) -> dict[str, Any] | None:
        try:
            result = subprocess.run(
                [self.kubectl, "get", *what.split(" "), "-o", "json"],
                capture_output=True, text=True, timeout=max(self.interval, 5), check=False,
            )  # fmt: skip
        except (OSError, subprocess.SubprocessError) as error:
            self._error(f"kubectl failed: {error}")
            return None
        if result.returncode != 0:
            self._error(f"kubectl get {what}: {result.stderr.strip()[:200]}")
            return None
        try:
            document: dict[str, Any] = json.loads(result.stdout)
        except ValueError as error:
            self._error(f"kubectl returned no JSON: {error}")
            return None
        return document

    def poll_once(self) -> dict[str, Any] | None:
        """One sample: the HPA, then its scale target's ready replicas; None if the HPA failed."""
        document = self._get(f"hpa {self.hpa_name}")
        if document is None:
            return None
        row = {"timestamp": round(time.time(), 3), **parse_hpa(document), "ready_replicas": None}
        target = scale_target(document)
        workload = self._get(target) if target else None
        if workload is not None:
            row["ready_replicas"] = workload.get("status", {}).get("readyReplicas", 0)
        return row

    def _error(self, message: str) -> None:
        if message not in self.errors:
            self.errors.append(message)
            print(f"bench: hpa: {message}", flush=True)

    def run(self) -> None:
        with self.path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS)
            writer.writeheader()
            while not self._stop_event.is_set():
                row = self.poll_once()
                if row is not None:
                    writer.writerow(row)
                    handle.flush()
                    self.samples += 1
                self._stop_event.wait(self.interval)

    def stop(self) -> None:
        """Ask the thread to finish and wait for it."""
        self._stop_event.set()
        self.join(timeout=30)
