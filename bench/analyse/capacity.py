"""From Locust's stats history to per-step figures and the capacity at an SLO.

Pure functions over rows (dicts of Locust's own CSV columns) so they can be
tested on synthetic histories.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HISTORY_COLUMNS = (
    "Timestamp", "User Count", "Name", "Requests/s", "50%", "95%", "99%",
    "Total Request Count", "Total Failure Count",
)  # fmt: skip
GENERATOR_SATURATED_PERCENT = 90.0
# Rolling percentiles in the history cover the last ~10 s; a step shorter than
# this settling time has no steady state to report.
SETTLE_SECONDS = 2.0


class BenchDataError(ValueError):
    """A CSV that is missing, empty or lacks the columns we need (one clear line)."""


@dataclass
class CpuSample:
    """CPU use at one time (percent of one core; None where not measured)."""

    timestamp: float
    loadgen_percent: float | None
    server_percent: float | None = None


@dataclass
class Step:  # pylint: disable=too-many-instance-attributes
    """Steady-state figures of one user count."""

    users: int
    start: float
    end: float
    requests: int
    failures: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    loadgen_cpu_percent: float | None = None
    server_cpu_percent: float | None = None

    @property
    def failure_ratio(self) -> float:
        """Failed share of the step's requests (0 when none were sent)."""
        return self.failures / self.requests if self.requests else 0.0


@dataclass
class Capacity:
    """The highest step within the SLO, and whether the figure is only a lower bound."""

    slo_p99_ms: float
    max_failure_ratio: float
    step: Step | None
    lower_bound: bool
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form for meta.json."""
        data = asdict(self)
        if self.step is not None:
            data["step"]["failure_ratio"] = self.step.failure_ratio
        return data


def read_csv(path: Path, required: Sequence[str]) -> list[dict[str, str]]:
    """Rows of a CSV that must exist and have the required columns."""
    if not path.is_file():
        raise BenchDataError(f"{path}: file not found")
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [column for column in required if column not in (reader.fieldnames or [])]
        if missing:
            raise BenchDataError(f"{path}: missing column(s) {', '.join(missing)}")
        rows = list(reader)
    if not rows:
        raise BenchDataError(f"{path}: no rows")
    return rows


def _number(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        return math.nan
    return number


def _mean(values: Iterable[float]) -> float | None:
    items = [value for value in values if not math.isnan(value)]
    return sum(items) / len(items) if items else None


def steps_from_history(rows: Sequence[dict[str, str]], cpu: Sequence[CpuSample] = ()) -> list[Step]:
    """One Step per user count held, from Aggregated history rows.

    Throughput is the change in the cumulative request count over the step
    (after SETTLE_SECONDS), divided by its duration; percentiles are Locust's
    rolling values at the step's last row; CPU is the mean of samples inside it.
    """
    aggregated = [row for row in rows if row["Name"] == "Aggregated"]
    groups: list[list[dict[str, str]]] = []
    for row in aggregated:
        if int(row["User Count"]) == 0:
            continue
        if groups and groups[-1][0]["User Count"] == row["User Count"]:
            groups[-1].append(row)
        else:
            groups.append([row])
    steps = []
    for group in groups:
        first_time = float(group[0]["Timestamp"])
        steady = [row for row in group if float(row["Timestamp"]) >= first_time + SETTLE_SECONDS]
        if len(steady) < 2:
            continue
        start, end = float(steady[0]["Timestamp"]), float(steady[-1]["Timestamp"])
        requests = int(steady[-1]["Total Request Count"]) - int(steady[0]["Total Request Count"])
        failures = int(steady[-1]["Total Failure Count"]) - int(steady[0]["Total Failure Count"])
        inside = [sample for sample in cpu if start <= sample.timestamp <= end]
        server = [s.server_percent for s in inside if s.server_percent is not None]
        loadgen = [s.loadgen_percent for s in inside if s.loadgen_percent is not None]
        steps.append(
            Step(
                users=int(group[0]["User Count"]),
                start=start,
                end=end,
                requests=requests,
                failures=failures,
                rps=requests / (end - start),
                p50_ms=_number(steady[-1]["50%"]),
                p95_ms=_number(steady[-1]["95%"]),
                p99_ms=_number(steady[-1]["99%"]),
                loadgen_cpu_percent=_mean(loadgen),
                server_cpu_percent=_mean(server),
            )
        )
    return steps


def find_capacity(steps: Sequence[Step], slo_p99_ms: float, max_failure_ratio: float) -> Capacity:
    """Highest step with p99 <= SLO and failure ratio <= the limit.

    The figure is only a lower bound when the load generator went over
    GENERATOR_SATURATED_PERCENT CPU on a step the server still handled within
    the SLO (the generator, not the server, was the limit), or when no step
    ever broke the SLO (the load never found the server's limit).
    """
    within = [
        step for step in steps
        if step.p99_ms <= slo_p99_ms and step.failure_ratio <= max_failure_ratio
    ]  # fmt: skip
    best = max(within, key=lambda step: step.rps, default=None)
    reasons = []
    saturated = [
        step for step in within
        if step.loadgen_cpu_percent is not None
        and step.loadgen_cpu_percent > GENERATOR_SATURATED_PERCENT
    ]  # fmt: skip
    if saturated:
        worst = max(saturated, key=lambda step: step.loadgen_cpu_percent or 0.0)
        reasons.append(
            f"load generator CPU reached {worst.loadgen_cpu_percent:.0f}% at {worst.users} users "
            f"while the server was still within the SLO: the generator, not the server, was "
            f"the limit"
        )
    if steps and len(within) == len(steps):
        reasons.append("no step exceeded the SLO: the load never reached the server's limit")
    return Capacity(slo_p99_ms, max_failure_ratio, best, bool(reasons), reasons)


def describe(capacity: Capacity, server_cpus: float | None) -> str:
    """The headline in one paragraph (meta.json's "headline")."""
    step = capacity.step
    if step is None:
        return (
            f"no step met p99 <= {capacity.slo_p99_ms:g} ms with failures <= "
            f"{capacity.max_failure_ratio:.1%}"
        )
    text = (
        f"capacity at p99 <= {capacity.slo_p99_ms:g} ms: {step.rps:,.0f} req/s at {step.users} "
        f"users (p50 {step.p50_ms:g} ms, p95 {step.p95_ms:g} ms, p99 {step.p99_ms:g} ms, "
        f"failures {step.failure_ratio:.3%})"
    )
    if server_cpus:
        text += f"; {step.rps / server_cpus:,.0f} req/s per allotted CPU"
    if step.server_cpu_percent:
        per_used = step.rps / (step.server_cpu_percent / 100)
        text += (
            f"; the server used {step.server_cpu_percent:.0f}% of a core: "
            f"{per_used:,.0f} req/s per CPU-second used"
        )
    if capacity.lower_bound:
        text += ". LOWER BOUND: " + "; ".join(capacity.reasons)
    return text
