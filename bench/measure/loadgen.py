"""The load generator's CPU in the cluster: the Locust worker pods' CPU from the metrics API,
recorded beside the HPA (bench/measure/hpa.py) into loadgen_pods.csv.

Locally `bench run` samples its Locust process's CPU itself; in the cluster Locust runs in
worker pods, and only the metrics API (metrics-server, the source `kubectl top pods` and the HPA
read) knows their CPU. Each poll: `kubectl get pods.metrics.k8s.io -l SELECTOR` (each pod's CPU
averaged over a window that ends at the metrics' timestamp), and, for pods not seen before,
`kubectl get pods -l SELECTOR` for their CPU requests and limits. One row per pod and window
(a window already recorded is not written twice: metrics-server refreshes every 15 s, the
recorder polls every 5 s). Columns: bench.results.LOADGEN_PODS_COLUMNS.

`bench import --loadgen-pods` turns the rows into the load generator's CPU of each step
(bench.results.loadgen_samples: the busiest worker, in percent of its ceiling), so an imported run
says whether the generator, not the server, was the limit, as a local one does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.measure.hpa import millicores
from bench.measure.recorder import KubectlRecorder
from bench.results import LOADGEN_PODS_COLUMNS

# The Locust workers of the deliveryhero chart's release (its labels: component=worker).
WORKER_LABEL = "component=worker"
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|ms|us|µs|ns|m|s)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


def worker_selector(locust_release: str) -> str:
    """The label selector of one deliveryhero/locust release's worker pods."""
    return f"{WORKER_LABEL},app.kubernetes.io/instance={locust_release}"


def duration_seconds(text: object) -> float | None:
    """A Go duration as the metrics API writes a window ("15s", "10.5s", "1m0s"); None if not."""
    parts = _DURATION.findall(str(text or ""))
    if not parts or "".join(number + unit for number, unit in parts) != str(text):
        return None
    return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)


def _containers_cpu(containers: Any, key: str) -> float | None:
    values = [millicores(((c.get("resources") or {}).get(key) or {}).get("cpu"))
              for c in containers or []]  # fmt: skip
    return None if not values or None in values else sum(v or 0.0 for v in values)


Resources = tuple[float | None, float | None]


def parse_pod_resources(document: Mapping[str, Any]) -> dict[str, Resources]:
    """Pod name → (CPU request, CPU limit) in millicores, summed over its containers (None when
    a container sets none)."""
    found = {}
    for pod in document.get("items") or []:
        containers = (pod.get("spec") or {}).get("containers")
        found[pod["metadata"]["name"]] = (
            _containers_cpu(containers, "requests"),
            _containers_cpu(containers, "limits"),
        )
    return found


def parse_pod_metrics(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per pod of a PodMetricsList (metrics.k8s.io/v1beta1): the window's end (Unix
    seconds), its length, and the CPU the pod's containers used over it (millicores)."""
    rows = []
    for pod in document.get("items") or []:
        try:
            end = datetime.fromisoformat(str(pod["timestamp"]).replace("Z", "+00:00"))
        except (KeyError, ValueError):
            continue
        containers = pod.get("containers") or []
        usages = [millicores((c.get("usage") or {}).get("cpu")) for c in containers]
        rows.append({
            "timestamp": round(end.timestamp(), 3),
            "pod": pod["metadata"]["name"],
            "window_seconds": duration_seconds(pod.get("window")),
            "cpu_millicores": None if not usages or None in usages
            else round(sum(u or 0.0 for u in usages), 3),
        })  # fmt: skip
    return rows


class LoadgenWatcher(KubectlRecorder):
    """Records the CPU of the pods a label selector names (the Locust workers)."""

    columns = LOADGEN_PODS_COLUMNS
    label = "loadgen"

    def __init__(
        self, selector: str, path: Path, interval: float = 5.0, kubectl: str = "kubectl",
        namespace: str | None = None,
    ) -> None:  # fmt: skip
        super().__init__(path, interval, kubectl, namespace)
        self.selector = selector
        self._resources: dict[str, Resources] = {}
        self._recorded: set[tuple[str, float]] = set()

    def poll(self) -> list[dict[str, Any]]:
        """The windows not recorded yet, each with its pod's CPU request and limit."""
        document = self.get("pods.metrics.k8s.io", "-l", self.selector)
        if document is None:
            return []
        fresh = [row for row in parse_pod_metrics(document)
                 if (row["pod"], row["timestamp"]) not in self._recorded]  # fmt: skip
        if any(row["pod"] not in self._resources for row in fresh):
            pods = self.get("pods", "-l", self.selector)
            self._resources.update(parse_pod_resources(pods or {}))
        for row in fresh:
            self._recorded.add((row["pod"], row["timestamp"]))
            request, limit = self._resources.get(row["pod"], (None, None))
            row["cpu_request_millicores"], row["cpu_limit_millicores"] = request, limit
        return fresh
