"""Load across replicas: how evenly the answers spread over the pods, and how long a pod the
autoscaler added took to serve its fair share. Pure functions over the per-identifier counts of
a run (`<target>_share.csv`, bench/results.py reads it)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

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
    counts: Counts, name: str, ready: float, replicas: int, window: float,
    tolerance: float = FAIR_TOLERANCE,
) -> float | None:  # fmt: skip
    """Seconds from ready until name first served 1/replicas ± tolerance of the answers over a
    window; None if it never did in the data."""
    fair = 1.0 / replicas
    last = max(counts, default=0)
    start = math.floor(ready)
    while start + window <= last + 1:
        share = window_share(counts, name, start, window)
        if share is not None and abs(share - fair) <= tolerance * fair:
            return max(0.0, start - ready)
        start += 1
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
