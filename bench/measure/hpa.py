"""The HPA recorder: poll an HPA and the workload it scales with kubectl, into replicas.csv.

Each sample: the HPA's current and desired replicas, its CPU utilisation (percent of the
pods' CPU request) and average CPU per pod (millicores, the HPA's own averageValue, so the
report can plot the pods' CPU of in-cluster runs), and the scale target's ready replicas
(`kubectl get <kind>/<name>`: the HPA's currentReplicas counts pods that are not Ready yet).
Columns: bench.results.REPLICAS_COLUMNS.

HpaWatcher records for `bench run --kube-hpa NAME` (beside its own Locust), for
`python -m bench hpa NAME` (record_hpa.py, beside Locust running in the cluster) and for the
in-cluster comparison. Kubernetes quantities are read here too (parse_quantity, millicores):
the project's one parser of them.
"""

from __future__ import annotations

import re
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

from bench.measure.recorder import KubectlRecorder
from bench.results import REPLICAS_COLUMNS

COLUMNS = REPLICAS_COLUMNS
# resource.Quantity suffixes (k8s.io/apimachinery/pkg/api/resource)
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000), "": Fraction(1),
    "k": Fraction(10**3), "M": Fraction(10**6), "G": Fraction(10**9), "T": Fraction(10**12),
    "P": Fraction(10**15), "E": Fraction(10**18),
}  # fmt: skip
_QUANTITY = re.compile(
    r"([+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+))([eE][+-]?[0-9]+|[KMGTPE]i|[numkMGTPE]?)"
)


def parse_quantity(value: object) -> Fraction:
    """A Kubernetes quantity (250m, 1, 0.5, 128Mi, 1Gi, 1e3) as an exact number; ValueError when
    it is not one. The project's one quantity parser: tests/k8s_rules.py checks the chart's
    requests and limits with it."""
    match = _QUANTITY.fullmatch(str(value).strip())
    if match is None:
        raise ValueError(f"not a Kubernetes quantity: {value!r}")
    number, suffix = Fraction(match.group(1)), match.group(2)
    if suffix[:1] in ("e", "E") and len(suffix) > 1:
        return number * Fraction(10) ** int(suffix[1:])
    return number * (_BINARY.get(suffix) or _DECIMAL[suffix])


def millicores(quantity: str | float | int | None) -> float | None:
    """A Kubernetes CPU quantity ("250m", "1", "0.5", "125000u") in millicores; None when it is
    absent or not a quantity."""
    if quantity is None:
        return None
    try:
        return float(parse_quantity(quantity) * 1000)
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


class HpaWatcher(KubectlRecorder):
    """Background poller of one HPA; stop() ends it. Failures are recorded once, never raised."""

    columns = COLUMNS
    label = "hpa"

    def __init__(
        self, name: str, path: Path, interval: float = 5.0, kubectl: str = "kubectl",
        namespace: str | None = None,
    ) -> None:  # fmt: skip
        super().__init__(path, interval, kubectl, namespace)
        self.hpa_name = name

    def poll_once(self) -> dict[str, Any] | None:
        """One sample: the HPA, then its scale target's ready replicas; None if the HPA failed."""
        document = self.get("hpa", self.hpa_name)
        if document is None:
            return None
        row = {"timestamp": round(time.time(), 3), **parse_hpa(document), "ready_replicas": None}
        target = scale_target(document)
        workload = self.get(target) if target else None
        if workload is not None:
            row["ready_replicas"] = workload.get("status", {}).get("readyReplicas", 0)
        return row

    def poll(self) -> list[dict[str, Any]]:
        """The one row of this poll."""
        row = self.poll_once()
        return [] if row is None else [row]
