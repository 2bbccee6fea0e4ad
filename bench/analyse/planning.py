"""Capacity planning derived from a measurement and the chart's values (labelled as derived).

Inputs: requests per CPU-second (measured: req/s at capacity divided by the server's CPU),
the pods' CPU request and limit, and the HPA's target utilisation and replica bounds, read from
a values file (celsiusify-chart/values.yaml by default). The HPA computes
desired = ceil(current x utilisation / target), and utilisation is CPU used / CPU request, so:

- one pod at the target carries  rps_per_cpu_second x request x target;
- the HPA adds a pod once a pod passes the target by more than its tolerance (Kubernetes'
  default --horizontal-pod-autoscaler-tolerance, 10 %);
- a total rate R needs ceil(R / per-pod-at-target) replicas (at least minReplicas);
- above maxReplicas x per-pod-at-target, maxReplicas caps the deployment: pods run above target,
  up to their CPU limit (maxReplicas x rps_per_cpu_second x limit, the last line of defence).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bench.measure.hpa import millicores
from targets import ROOT

DEFAULT_VALUES = ROOT / "celsiusify-chart" / "values.yaml"
HPA_TOLERANCE = 0.1


class ValuesError(ValueError):
    """A values file without the keys planning needs (one clear line)."""


@dataclass(frozen=True)
class ChartSizing:
    """The chart values planning needs."""

    cpu_request_millicores: float
    cpu_limit_millicores: float | None
    target_percent: float
    min_replicas: int
    max_replicas: int
    source: str


@dataclass(frozen=True)
class Plan:  # pylint: disable=too-many-instance-attributes
    """Derived figures for one run."""

    rps_per_cpu_second: float
    per_pod_at_target: float
    per_pod_before_scale_up: float
    rate: float
    replicas_for_rate: int
    beyond_max_replicas: bool
    max_rate_at_target: float
    max_rate_at_limit: float | None


def _dig(values: Mapping[str, Any], *keys: str) -> Any:
    node: Any = values
    for key in keys:
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


def sizing_from_values(values: Mapping[str, Any], source: str) -> ChartSizing:
    """ChartSizing from a values mapping (keys as in celsiusify-chart/values.yaml)."""
    request = millicores(_dig(values, "resources", "requests", "cpu"))
    target = _dig(values, "autoscaling", "targetCPUUtilizationPercentage")
    max_replicas = _dig(values, "autoscaling", "maxReplicas")
    if request is None or not request or target is None or max_replicas is None:
        raise ValuesError(
            f"{source}: needs resources.requests.cpu, autoscaling.targetCPUUtilizationPercentage"
            " and autoscaling.maxReplicas"
        )
    return ChartSizing(
        cpu_request_millicores=request,
        cpu_limit_millicores=millicores(_dig(values, "resources", "limits", "cpu")),
        target_percent=float(target),
        min_replicas=int(_dig(values, "autoscaling", "minReplicas") or 1),
        max_replicas=int(max_replicas),
        source=source,
    )


def load_sizing(path: Path | None) -> ChartSizing:
    """The chart's defaults, overlaid with the user's values file when one is named.

    Helm merges a -f file into the chart's defaults; so does this.
    """
    defaults = yaml.safe_load(DEFAULT_VALUES.read_text(encoding="utf-8"))
    if path is None:
        return sizing_from_values(defaults, "celsiusify-chart/values.yaml (chart defaults)")
    try:
        override = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ValuesError(f"{path}: cannot read ({error})") from None
    return sizing_from_values(_merge(defaults, override), f"{path} over the chart defaults")


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def plan(rps_per_cpu_second: float, sizing: ChartSizing, rate: float) -> Plan:
    """The derived figures (see the module docstring for the arithmetic)."""
    request_cpus = sizing.cpu_request_millicores / 1000
    per_pod = rps_per_cpu_second * request_cpus * sizing.target_percent / 100
    replicas = max(sizing.min_replicas, math.ceil(rate / per_pod - 1e-9))
    limit = sizing.cpu_limit_millicores
    return Plan(
        rps_per_cpu_second=rps_per_cpu_second,
        per_pod_at_target=per_pod,
        per_pod_before_scale_up=per_pod * (1 + HPA_TOLERANCE),
        rate=rate,
        replicas_for_rate=replicas,
        beyond_max_replicas=replicas > sizing.max_replicas,
        max_rate_at_target=sizing.max_replicas * per_pod,
        max_rate_at_limit=(
            sizing.max_replicas * rps_per_cpu_second * limit / 1000 if limit else None
        ),
    )
