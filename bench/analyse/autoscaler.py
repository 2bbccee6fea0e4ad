"""How the HPA reacted to the load: pure functions over Locust's history and replicas.csv.

- Load steps: the times the user count rose (Locust's Aggregated history rows).
- Reaction time of a step: from the step's start to the first recorded sample whose Ready
  replicas exceed the Ready count at the step's start (the HPA's currentReplicas when the
  recording has no ready_replicas column). Its resolution is the HPA polling interval.
- Scale-out: the spans where the HPA wanted more replicas than were Ready; the p99 reported
  during them is the worst Locust rolling p99 inside any span.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class LoadStep:
    """The user count rose to `users` at `start` (Unix seconds)."""

    users: int
    start: float


@dataclass(frozen=True)
class ReplicaSample:
    """One HPA sample."""

    timestamp: float
    current: int
    desired: int
    ready: int


@dataclass(frozen=True)
class Reaction:
    """What the autoscaler did after one load step (seconds after the step's start)."""

    users: int
    start: float
    ready_before: int
    decided_after_s: float | None
    ready_after_s: float | None
    ready_then: int | None


@dataclass(frozen=True)
class AutoscalerSummary:
    """The autoscaler page's figures."""

    reactions: list[Reaction]
    scale_out_spans: list[tuple[float, float]]
    p99_during_scale_out_ms: float | None
    highest_replicas: int
    highest_ready: int


def _int(value: str | None, default: int) -> int:
    try:
        return int(float(value)) if value not in (None, "", "None") else default
    except ValueError:
        return default


def replica_samples(rows: Sequence[dict[str, str]]) -> list[ReplicaSample]:
    """replicas.csv rows as samples in time order; Ready falls back to currentReplicas."""
    samples = []
    for row in rows:
        current = _int(row.get("current_replicas"), 0)
        samples.append(
            ReplicaSample(
                timestamp=float(row["timestamp"]),
                current=current,
                desired=_int(row.get("desired_replicas"), current),
                ready=_int(row.get("ready_replicas"), current),
            )
        )
    return sorted(samples, key=lambda sample: sample.timestamp)


def load_steps(history: Sequence[dict[str, str]]) -> list[LoadStep]:
    """Each rise of the user count in Locust's Aggregated history."""
    steps, previous = [], 0
    for row in history:
        if row["Name"] != "Aggregated":
            continue
        users = int(row["User Count"])
        if users > previous:
            steps.append(LoadStep(users, float(row["Timestamp"])))
        previous = users
    return steps


def reactions(steps: Sequence[LoadStep], samples: Sequence[ReplicaSample]) -> list[Reaction]:
    """The decision and Ready delays after every load step (None: no new replica followed)."""
    found = []
    for step in steps:
        before_samples = [sample for sample in samples if sample.timestamp <= step.start]
        reference = before_samples[-1] if before_samples else (samples[0] if samples else None)
        if reference is None:
            continue
        after = [sample for sample in samples if sample.timestamp > step.start]
        decided = next((s for s in after if s.desired > reference.ready), None)
        ready = next((s for s in after if s.ready > reference.ready), None)
        found.append(
            Reaction(
                users=step.users,
                start=step.start,
                ready_before=reference.ready,
                decided_after_s=decided.timestamp - step.start if decided else None,
                ready_after_s=ready.timestamp - step.start if ready else None,
                ready_then=ready.ready if ready else None,
            )
        )
    return found


def scale_out_spans(samples: Sequence[ReplicaSample]) -> list[tuple[float, float]]:
    """(start, end) of each span where desired > Ready; an open span ends at the last sample."""
    spans, opened = [], None
    for sample in samples:
        if sample.desired > sample.ready and opened is None:
            opened = sample.timestamp
        elif sample.desired <= sample.ready and opened is not None:
            spans.append((opened, sample.timestamp))
            opened = None
    if opened is not None:
        spans.append((opened, samples[-1].timestamp))
    return spans


def summarise(
    history: Sequence[dict[str, str]], rows: Sequence[dict[str, str]]
) -> AutoscalerSummary:
    """Reactions, scale-out spans, the worst p99 inside them, the highest replica counts."""
    samples = replica_samples(rows)
    spans = scale_out_spans(samples)
    p99s = []
    for row in history:
        if row["Name"] != "Aggregated":
            continue
        moment = float(row["Timestamp"])
        try:
            p99 = float(row["99%"])
        except ValueError:
            continue
        if not math.isnan(p99) and any(start <= moment <= end for start, end in spans):
            p99s.append(p99)
    return AutoscalerSummary(
        reactions=reactions(load_steps(history), samples),
        scale_out_spans=spans,
        p99_during_scale_out_ms=max(p99s, default=None),
        highest_replicas=max((sample.current for sample in samples), default=0),
        highest_ready=max((sample.ready for sample in samples), default=0),
    )
