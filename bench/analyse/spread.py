"""Load across replicas: how evenly the answers spread over the pods, and how long a pod the
autoscaler added took to serve its fair share. Pure functions over the per-identifier counts of
a run (`<target>_share.csv`, bench/results.py reads it)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

# A pod serves its fair share when its share of answers is within this fraction of 1/N.
FAIR_TOLERANCE = 0.2

Counts = Mapping[int, Mapping[str, int]]


def window_share(counts: Counts, name: str, start: float, width: float) -> float | None:
    """name's share of the answers in [start, start + width); None when nothing answered."""
    total = mine = 0
    for second, by_name in counts.items():
        if start <= second < start + width:
            total += sum(by_name.values())
            mine += by_name.get(name, 0)
    return mine / total if total else None


def fair_share_time(
    counts: Counts, name: str, ready: float, replicas: int | Callable[[float], int],
    window: float, tolerance: float = FAIR_TOLERANCE,
) -> float | None:  # fmt: skip
    """Seconds from ready until name first served 1/N ± tolerance of the answers over a window,
    N the replicas (a count, or a function of the window's start when it changes); None if it
    never did in the data."""
    # Windows start where the data does (every second, or every 5 s interval) from ready on.
    for start in sorted(moment for moment in counts if moment >= math.floor(ready)):
        count = replicas(start) if callable(replicas) else replicas
        share = window_share(counts, name, start, window)
        fair = 1.0 / max(count, 1)
        if share is not None and abs(share - fair) <= tolerance * fair:
            return max(0.0, start - ready)
    return None


def spread(shares: Sequence[float]) -> dict[str, float]:
    """max/min share and the coefficient of variation of the pods' shares in one step."""
    if not shares:
        return {"max_over_min": math.nan, "cv": math.nan}
    mean = sum(shares) / len(shares)
    variance = sum((share - mean) ** 2 for share in shares) / len(shares)
    low = min(shares)
    return {
        "max_over_min": max(shares) / low if low > 0 else math.inf,
        "cv": math.sqrt(variance) / mean if mean > 0 else math.nan,
    }


# --- a run's share table, summarised for the report -------------------------------------------


@dataclass(frozen=True)
class StepSpread:
    """How evenly one load step's answers spread over the pods that answered in it."""

    users: int
    pods: int
    max_over_min: float
    cv: float


@dataclass(frozen=True)
class NewPod:
    """A pod that started answering after the run began (the autoscaler added it)."""

    identifier: str
    first_answer: float  # Unix s: the interval of its first answer
    ready: float  # Unix s: when the Ready replicas first reached its rank, else first_answer
    fair_after_s: float | None  # from ready until it served its fair share, None if never


@dataclass(frozen=True)
class ShareSummary:
    """The share page's figures."""

    identifiers: list[str]  # in order of first answer
    steps: list[StepSpread]
    new_pods: list[NewPod]


def per_interval(rows: Iterable[tuple[int, str, int]]) -> dict[int, dict[str, int]]:
    """interval start → identifier → answers."""
    table: dict[int, dict[str, int]] = {}
    for start, name, answers in rows:
        by_name = table.setdefault(start, {})
        by_name[name] = by_name.get(name, 0) + answers
    return table


def _ready_at(samples: Sequence[tuple[float, int]]) -> Callable[[float], int]:
    """Ready replicas at a moment (the last sample at or before it; the first one before that)."""

    def ready(moment: float) -> int:
        count = samples[0][1] if samples else 0
        for timestamp, value in samples:
            if timestamp > moment:
                break
            count = value
        return count

    return ready


def step_spreads(
    table: Mapping[int, Mapping[str, int]], steps: Sequence[tuple[int, float, float]]
) -> list[StepSpread]:
    """Per step (users, start, end): the pods that answered in it and how evenly."""
    spreads = []
    for users, begin, end in steps:
        totals: dict[str, int] = {}
        for start, by_name in table.items():
            if begin <= start < end:
                for name, answers in by_name.items():
                    totals[name] = totals.get(name, 0) + answers
        answered = sum(totals.values())
        if answered:
            figures = spread([answers / answered for answers in totals.values()])
            spreads.append(StepSpread(users, len(totals), figures["max_over_min"], figures["cv"]))
    return spreads


def summarise(
    rows: Sequence[tuple[int, str, int]],
    steps: Sequence[tuple[int, float, float]],
    ready_samples: Sequence[tuple[float, int]] = (),
    interval: float = 5.0,
) -> ShareSummary:
    """rows: (interval start, identifier, answers); steps: (users, start, end); ready_samples:
    (timestamp, Ready replicas) from the HPA recording, if any."""
    table = per_interval(rows)
    first_seen: dict[str, int] = {}
    for start in sorted(table):
        for name in table[start]:
            first_seen.setdefault(name, start)
    identifiers = sorted(first_seen, key=lambda name: (first_seen[name], name))
    spreads = step_spreads(table, steps)
    ready = _ready_at(sorted(ready_samples))
    opening = min(first_seen.values(), default=0)
    new_pods = []
    for rank, name in enumerate(identifiers, start=1):
        if first_seen[name] == opening:
            continue
        ready_time = next((t for t, count in sorted(ready_samples) if count >= rank),
                          float(first_seen[name]))  # fmt: skip
        ready_time = min(ready_time, float(first_seen[name]))
        replicas = ready if ready_samples else (lambda _moment, rank=rank: rank)
        fair = fair_share_time(table, name, ready_time, replicas, interval)
        new_pods.append(NewPod(name, float(first_seen[name]), ready_time, fair))
    return ShareSummary(identifiers, spreads, new_pods)
