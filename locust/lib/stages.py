"""Step-load arithmetic, free of Locust (so it is testable without gevent).

The numbers come from the --step-* options (STEP_* variables, see lib/options.py).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Stage:
    """Users held until end_second (seconds since the test started)."""

    users: int
    end_second: float
    spawn_rate: float


def step_stages(
    start_users: int, step_users: int, step_seconds: float, max_users: int,
    spawn_rate: float | None = None,
) -> list[Stage]:  # fmt: skip
    """The stages of a step load, first to last; raises ValueError on nonsense."""
    if start_users < 1 or step_users < 1 or max_users < start_users or step_seconds <= 0:
        raise ValueError(
            "step load needs 1 <= start users <= max users, step users >= 1, step seconds > 0"
        )
    stages = []
    users, end = start_users, 0.0
    while users <= max_users:
        end += step_seconds
        stages.append(Stage(users, end, spawn_rate or float(max(step_users, start_users))))
        users += step_users
    return stages


def shape_tick(
    stages: list[Stage], run_time: float, then_idle: bool = False
) -> tuple[int, float] | None:
    """(users, spawn rate) at run_time; after the last stage None, or zero users if idling."""
    for stage in stages:
        if run_time < stage.end_second:
            return stage.users, stage.spawn_rate
    if then_idle and stages:
        return 0, stages[-1].spawn_rate
    return None
