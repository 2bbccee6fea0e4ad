"""CPU efficiency and quota throttling: pure functions over a run's steps and throttling.csv.

CPU-seconds per 1,000 requests = the server's CPU over a step / its requests x 1,000: what a
request costs, a figure that needs no saturation (a server waiting on something other than its
CPU shows it). Compared "at equal load": the same step of the same step load, the highest one
every target held within the SLO. Locust's users have no think time, so a step offers the same
load (that many users each sending as soon as answered) to every target, and each achieves the
rate it can; the rates are given beside the costs.

Throttling: the share of CFS periods in which the quota ran out (nr_throttled / nr_periods),
per second for the CPU page and over a step for the headline: a high share with p99 rising
means the tail is the quota's stall, not work waiting in a queue.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from bench.analyse.capacity import Step
from bench.results import Throttling


def cpu_seconds_per_1000(step: Step) -> float | None:
    """The server's CPU-seconds per 1,000 requests over a step (None without its CPU)."""
    if step.server_cpu_percent is None or step.rps <= 0:
        return None
    return step.server_cpu_percent / 100 / step.rps * 1000


def throttled_share(rows: Sequence[Throttling], start: float, end: float) -> float | None:
    """Share of the periods from start to end in which the quota ran out, between the last
    rows at or before each (rows are a second apart, the history's seconds are whole); None
    when no period elapsed between them."""
    before = [row for row in rows if row.timestamp <= start] or rows[:1]
    until = [row for row in rows if row.timestamp <= end]
    if not before or not until:
        return None
    periods = until[-1].nr_periods - before[-1].nr_periods
    if periods <= 0:
        return None
    return (until[-1].nr_throttled - before[-1].nr_throttled) / periods


def per_second(rows: Sequence[Throttling]) -> list[tuple[float, float, float | None]]:
    """(timestamp, throttled share, CPUs used) over each interval between consecutive rows."""
    series = []
    for before, after in itertools.pairwise(rows):
        periods = after.nr_periods - before.nr_periods
        seconds = after.elapsed_s - before.elapsed_s
        share = (after.nr_throttled - before.nr_throttled) / periods if periods > 0 else 0.0
        used = None
        if after.usage_usec is not None and before.usage_usec is not None and seconds > 0:
            used = (after.usage_usec - before.usage_usec) / 1e6 / seconds
        series.append((after.timestamp, share, used))
    return series


@dataclass(frozen=True)
class Cost:
    """A step's request rate and the server's CPU-seconds per 1,000 requests in it."""

    users: int
    rps: float
    cpu_seconds_per_1000: float


def costs(steps: Sequence[Step], slo_p99_ms: float, max_failure_ratio: float) -> list[Cost]:
    """The cost of each step held within the SLO whose server CPU was measured."""
    found = []
    for step in steps:
        cost = cpu_seconds_per_1000(step)
        within = step.p99_ms <= slo_p99_ms and step.failure_ratio <= max_failure_ratio
        if within and cost is not None:
            found.append(Cost(step.users, step.rps, cost))
    return found


def equal_load(sides: Sequence[Sequence[Cost]]) -> tuple[int, list[Cost]] | None:
    """The highest step (users) every side held within the SLO, and each side's cost there;
    None when they share no such step."""
    common = (
        set.intersection(*({cost.users for cost in side} for side in sides)) if sides else set()
    )
    if not common:
        return None
    users = max(common)
    return users, [next(cost for cost in side if cost.users == users) for side in sides]
