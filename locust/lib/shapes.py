"""The step-load LoadTestShape; its arithmetic lives in lib/stages.py."""

from __future__ import annotations

from lib.stages import stages_from_environment
from locust import LoadTestShape


class StepLoadShape(LoadTestShape):
    """Holds each user count for STEP_SECONDS, then stops after the last step."""

    def __init__(self) -> None:
        super().__init__()
        self.stages = stages_from_environment()

    def tick(self) -> tuple[int, float] | None:
        run_time = self.get_run_time()
        for stage in self.stages:
            if run_time < stage.end_second:
                return stage.users, stage.spawn_rate
        return None
