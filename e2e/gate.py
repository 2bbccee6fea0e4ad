"""The pass/fail decisions of `python -m e2e`, and its CPU arithmetic: pure functions over
Locust's CSV rows, replicas.csv rows and rendered Kubernetes objects (tests/e2e feed them
synthetic rows and real renders).

- Wrong answers: a failure row whose error names one of the answer checks of
  locust/lib/checks.py (a status code or a refused connection is load, not a wrong answer).
- HPA: under the top step (the highest user count of the run) the autoscaler's current or
  desired replicas went above its minimum at least once.
- Floors: a target's capacity (req/s at the SLO) is at least what the user asked for.
- CPU: each Deployment's CPU requests at its peak (the HPA's maxReplicas when an HPA scales it),
  the budget written in e2e/values/locust.yaml, and the node CPU the cluster has free.

And the comparison between the targets, which judges nothing but says what the figures allow:
REFUSED when a side ran a stand-in image, SERVER-LIMITED when both figures are the servers'
limits (no Locust worker above 90 % of its CPU on a step within the SLO, and a step broke it),
LOWER BOUND naming the side whose figure is only a lower bound, UNCHECKED when a side's workers'
CPU was not recorded, NOT COMPARED when a side has no figure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bench.analyse import headline
from bench.analyse.capacity import GENERATOR_SATURATED_PERCENT
from bench.analyse.headline import Headline
from bench.measure.hpa import millicores

# locust/lib/checks.py's kinds that mean the answer itself was wrong (NO_RESPONSE and "HTTP
# status N" are left out: they are load). tests/e2e compare this list with that module.
ANSWER_KINDS = (
    "wrong answer",
    "body is not JSON",
    "unexpected JSON shape",
    "app_identifier missing",
    "wrong number of answers",
    "prediction is not a one-element row",
    "prediction off by more than the tolerance",
)
_BUDGET_LINE = re.compile(r"^#\s*budget:\s*(?P<name>[\w-]+)\s+(?P<millicores>\d+)m\b", re.M)


def wrong_answers(failure_rows: Iterable[Mapping[str, str]]) -> list[str]:
    """'<count> x <error>' for each failure row that is a wrong answer (Locust's failures CSV)."""
    found = []
    for row in failure_rows:
        error = row.get("Error", "")
        if any(kind in error for kind in ANSWER_KINDS):
            found.append(f"{row.get('Occurrences', '?')} x {error} ({row.get('Name', '')})")
    return found


def top_step_window(history_rows: Sequence[Mapping[str, str]]) -> tuple[float, float] | None:
    """First and last timestamp of the Aggregated history rows at the highest user count."""
    rows = [row for row in history_rows if row.get("Name") == "Aggregated"]
    counts = [int(float(row.get("User Count") or 0)) for row in rows]
    top = max(counts, default=0)
    if top <= 0:
        return None
    stamps = [float(row["Timestamp"]) for row, count in zip(rows, counts, strict=True)
              if count == top]  # fmt: skip
    return min(stamps), max(stamps)


@dataclass(frozen=True)
class HpaVerdict:
    """What the HPA did under the top step."""

    went_above: bool
    samples: int
    highest_current: int
    highest_desired: int

    def describe(self, minimum: int) -> str:
        """One line for the summary."""
        if not self.samples:
            return "no HPA sample under the top step"
        return (
            f"under the top step: up to {self.highest_current} current, "
            f"{self.highest_desired} desired replicas (minimum {minimum}; "
            f"{self.samples} samples)"
        )


def _count(value: str | None) -> int:
    try:
        return int(float(value)) if value not in (None, "", "None") else 0
    except ValueError:
        return 0


def hpa_verdict(
    replica_rows: Sequence[Mapping[str, str]], window: tuple[float, float] | None, minimum: int
) -> HpaVerdict:
    """Did the HPA go above `minimum` replicas between the window's ends (replicas.csv rows)?"""
    if window is None:
        return HpaVerdict(False, 0, 0, 0)
    start, end = window
    inside = [row for row in replica_rows if start <= float(row["timestamp"]) <= end]
    current = max((_count(row.get("current_replicas")) for row in inside), default=0)
    desired = max((_count(row.get("desired_replicas")) for row in inside), default=0)
    return HpaVerdict(max(current, desired) > minimum, len(inside), current, desired)


def peak_ready_replicas(replica_rows: Sequence[Mapping[str, str]]) -> int:
    """The most Ready replicas recorded (currentReplicas where Ready was not recorded)."""
    return max(
        (_count(row.get("ready_replicas") or row.get("current_replicas")) for row in replica_rows),
        default=0,
    )


def capacity_rps(meta: Mapping[str, Any]) -> float | None:
    """req/s of the capacity step in a results folder's meta.json (None: no step met the SLO)."""
    step = (meta.get("capacity") or {}).get("step")
    return float(step["rps"]) if step else None


def floor_problem(target: str, rps: float | None, floor: float) -> str | None:
    """Why a target misses its capacity floor, or None."""
    if rps is None:
        return f"{target}: no step met the SLO (floor {floor:,.0f} req/s)"
    if rps < floor:
        return f"{target}: capacity {rps:,.0f} req/s is below the floor of {floor:,.0f} req/s"
    return None


# --- the comparison ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """What the run's figures allow to say about the targets side by side."""

    verdict: str
    sentence: str
    standin: tuple[str, ...] = ()
    lower_bound: tuple[str, ...] = ()


def comparison(
    rows: Sequence[Headline], unmeasured: Sequence[str], generator_unknown: Sequence[str] = ()
) -> Comparison:
    """The verdict between the measured runs' headlines (bench.analyse.headline), naming the
    targets the run could not measure and those whose Locust workers' CPU was not recorded
    (whose figure then cannot be called their server's limit)."""
    standin = tuple(row.target for row in rows if row.standin)
    lower = tuple(row.target for row in rows if row.rps is not None and row.lower_bound)
    return Comparison(*_verdict(rows, unmeasured, generator_unknown, lower), standin, lower)


def _verdict(
    rows: Sequence[Headline], unmeasured: Sequence[str], generator_unknown: Sequence[str],
    lower: Sequence[str],
) -> tuple[str, str]:  # fmt: skip
    if unmeasured or len(rows) < 2:
        missing = f"{', '.join(unmeasured)}: not measured" if unmeasured else "one target only"
        return "NOT COMPARED", f"{missing}, nothing to compare with"
    if refused := headline.refusal(rows):
        return "REFUSED", refused
    sentence = headline.verdict(rows) or ""
    if any(row.rps is None for row in rows):
        return "NOT COMPARED", sentence
    if lower:
        named = " and ".join(f"{name}'s" for name in lower)
        return "LOWER BOUND", f"{named} figure is a lower bound, not its server's limit. {sentence}"
    if generator_unknown:
        return "UNCHECKED", (
            f"the Locust workers' CPU of {', '.join(generator_unknown)} was not recorded: "
            f"whether the figure is the server's limit is not known. {sentence}"
        )
    return "SERVER-LIMITED", sentence


def figures(row: Headline, meta: Mapping[str, Any]) -> str:
    """One target's figures for the summary: capacity, the load generator's CPU, the limit."""
    name = f"{row.target} (stand-in)" if row.standin else row.target
    if row.rps is None:
        text = f"{name}: no step within p99 <= {row.slo_p99_ms:g} ms"
    else:
        text = (
            f"{name}: {row.rps:,.0f} req/s at {row.users} users (p50 {row.p50_ms:g} ms, "
            f"p99 {row.p99_ms:g} ms)"
        )
        if row.rps_per_cpu:
            text += f", {row.rps_per_cpu:,.0f} req/s per allotted CPU"
    generator = meta.get("loadgen_cpu_percent") or {}
    if generator.get("max") is None:
        text += "; Locust workers' CPU not recorded"
    else:
        text += (
            f"; busiest Locust worker at {generator['mean']:.0f} % of its CPU limit on average, "
            f"{generator['max']:.0f} % at most"
        )
    if row.rps is not None and row.lower_bound:
        text += f"; lower bound: {row.limit}"
    elif row.rps is not None and generator.get("max") is not None:
        text += "; server-limited"
    elif row.rps is None and (generator.get("max") or 0) > GENERATOR_SATURATED_PERCENT:
        # A saturated generator delays its own timing: the latencies it measured, and so the
        # SLO miss, may be its own rather than the server's.
        text += "; a worker was saturated, so the latencies that missed the SLO may be Locust's"
    return text


# --- CPU ------------------------------------------------------------------------------------


def _pod_cpu_request(pod_spec: Mapping[str, Any]) -> float:
    total = 0.0
    for container in pod_spec.get("containers") or []:
        requests = (container.get("resources") or {}).get("requests") or {}
        total += millicores(requests.get("cpu")) or 0.0
    return total


def peak_cpu_requests(objects: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """Millicores each Deployment requests at its peak: maxReplicas when an HPA scales it,
    else its replicas (1 when unset). Pods run once by hooks (helm test) are not counted."""
    maximum = {}
    for obj in objects:
        if obj.get("kind") == "HorizontalPodAutoscaler":
            ref = obj["spec"]["scaleTargetRef"]
            maximum[(ref["kind"], ref["name"])] = int(obj["spec"]["maxReplicas"])
    peaks = {}
    for obj in objects:
        if obj.get("kind") != "Deployment":
            continue
        name = obj["metadata"]["name"]
        replicas = maximum.get(("Deployment", name), obj["spec"].get("replicas", 1))
        peaks[name] = replicas * _pod_cpu_request(obj["spec"]["template"]["spec"])
    return peaks


def written_budget(text: str) -> dict[str, int]:
    """The `# budget: <name> <n>m` lines of a values file, in millicores."""
    return {m["name"]: int(m["millicores"]) for m in _BUDGET_LINE.finditer(text)}


def free_cpu(nodes: Mapping[str, Any], pods: Mapping[str, Any], namespace: str) -> float:
    """Millicores the scheduler can still place: allocatable CPU of schedulable nodes minus the
    requests of pods outside `namespace` that are neither finished nor on another node."""
    usable = {
        node["metadata"]["name"]: millicores(node["status"]["allocatable"].get("cpu")) or 0.0
        for node in nodes.get("items", [])
        if not node.get("spec", {}).get("unschedulable")
    }
    used = 0.0
    for pod in pods.get("items", []):
        if pod["metadata"].get("namespace") == namespace:
            continue
        if pod.get("status", {}).get("phase") in ("Succeeded", "Failed"):
            continue
        if pod.get("spec", {}).get("nodeName") in usable:
            used += _pod_cpu_request(pod["spec"])
    return sum(usable.values()) - used
