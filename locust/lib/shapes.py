"""The step-load LoadTestShape; its arithmetic is in lib/stages.py, its numbers in the options."""

from __future__ import annotations

import logging

from lib.options import LoadOptions
from lib.stages import shape_tick
from locust import LoadTestShape


class StepLoadShape(LoadTestShape):
    """Holds each user count for --step-seconds; after the last step, stops the test.

    With --step-then-idle 1 (STEP_THEN_IDLE=1) it holds zero users instead of stopping, so a
    headless master in Kubernetes stays up (rather than exiting, being restarted and
    overwriting its CSVs) until the results are fetched with kubectl cp.

    The options are read at every tick from the runner's parsed_options, so numbers typed into
    the web UI's start form apply to the run they start. The shape runs on the master only.
    """

    def tick(self) -> tuple[int, float] | None:
        options = LoadOptions.of(self.runner.environment.parsed_options if self.runner else None)
        try:
            stages = options.stages()
        except ValueError as error:
            logging.getLogger("celsiusify.shape").error("step load stopped: %s", error)
            return None
        return shape_tick(stages, self.get_run_time(), options.step_then_idle)
