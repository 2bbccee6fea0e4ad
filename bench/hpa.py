"""--kube-hpa: poll `kubectl get hpa NAME -o json` and append to replicas.csv."""

from __future__ import annotations

import csv
import json
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

COLUMNS = ["timestamp", "current_replicas", "desired_replicas", "cpu_utilization_percent"]


def parse_hpa(document: dict[str, Any]) -> dict[str, Any]:
    """current/desired replicas and the CPU utilisation from an autoscaling/v2 HPA."""
    status = document.get("status", {})
    utilization = None
    for metric in status.get("currentMetrics") or []:
        resource = metric.get("resource") or {}
        if resource.get("name") == "cpu":
            utilization = resource.get("current", {}).get("averageUtilization")
    return {
        "current_replicas": status.get("currentReplicas"),
        "desired_replicas": status.get("desiredReplicas"),
        "cpu_utilization_percent": utilization,
    }


class HpaWatcher(threading.Thread):
    """Background poller; stop() ends it. Failures are recorded once, never raised."""

    def __init__(self, name: str, path: Path, interval: float = 5.0, kubectl: str = "kubectl"):
        super().__init__(daemon=True)
        self.hpa_name, self.path, self.interval, self.kubectl = name, path, interval, kubectl
        self.errors: list[str] = []
        self.samples = 0
        self._stop_event = threading.Event()

    def poll_once(self) -> dict[str, Any] | None:
        """One kubectl call; the parsed row, or None (error recorded)."""
        try:
            result = subprocess.run(
                [self.kubectl, "get", "hpa", self.hpa_name, "-o", "json"],
                capture_output=True, text=True, timeout=max(self.interval, 5), check=False,
            )  # fmt: skip
        except (OSError, subprocess.SubprocessError) as error:
            self._error(f"kubectl failed: {error}")
            return None
        if result.returncode != 0:
            self._error(f"kubectl get hpa {self.hpa_name}: {result.stderr.strip()[:200]}")
            return None
        try:
            return {"timestamp": round(time.time(), 3), **parse_hpa(json.loads(result.stdout))}
        except ValueError as error:
            self._error(f"kubectl returned no JSON: {error}")
            return None

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
