"""The step-load LoadTestShape; its arithmetic lives in lib/stages.py."""

from __future__ import annotations

import os

from lib.stages import shape_tick, stages_from_environment
from locust import LoadTestShape


class StepLoadShape(LoadTestShape):
    """Holds each user count for STEP_SECONDS; after the last step, stops the test.

    With STEP_THEN_IDLE=1 it holds zero users instead of stopping, so a headless
    master in Kubernetes stays up (rather than exiting, being restarted and
    overwriting its CSVs) until the results are fetched with kubectl cp.
    """

    def __init__(self) -> None:
        super().__init__()
        self.stages = stages_from_environment()
        self.then_idle = os.environ.get("STEP_THEN_IDLE", "") == "1"

    def tick(self) -> tuple[int, float] | None:
        return shape_tick(self.stages, self.get_run_time(), self.then_idle)
