"""Locust users for Celsiusify (GET, batch POST) and TensorFlow Serving.

Closed loop with no think time (wait_time = constant(0)): each user sends its
next request when the previous answer arrives, so offered load is set by the
user count and the server's speed, never by sleeps. Every answer is checked.
"""

from __future__ import annotations

import os
from typing import Any

from lib.checks import (
    FailureLog,
    Problem,
    check_batch,
    check_single,
    check_tfserving,
    random_fahrenheit,
    tfserving_body,
)
from locust import FastHttpUser, constant, tag, task

BATCH_SIZE = int(os.environ.get("CELSIUSIFY_BATCH_SIZE", "100"))
TF_BATCH_SIZE = int(os.environ.get("TFSERVING_BATCH_SIZE", "1"))
TF_TOLERANCE = float(os.environ.get("TFSERVING_TOLERANCE_CELSIUS", "0.01"))
TF_MODEL = os.environ.get("TFSERVING_MODEL", "celsiusify")
# Examples of each failure kind logged per process (the counts are in Locust's statistics).
FAILURES = FailureLog(per_kind=int(os.environ.get("FAILURE_EXAMPLES", "3")))


def record(response: Any, problem: Problem | None) -> None:
    """A wrong answer is a failure named by its kind (a bounded set); a few examples are logged."""
    if problem:
        response.failure(problem.kind)
        FAILURES.record(problem)
    else:
        response.success()


class CelsiusifyGetUser(FastHttpUser):
    """GET /convert?fahrenheit=<random> — the main benchmark."""

    wait_time = constant(0)

    @tag("celsiusify", "celsiusify-get")
    @task
    def convert_one(self) -> None:
        fahrenheit = random_fahrenheit()
        with self.client.get(
            f"/convert?fahrenheit={fahrenheit}", name="GET /convert", catch_response=True
        ) as response:
            record(response, check_single(response.status_code, response.text, fahrenheit))


class CelsiusifyBatchUser(FastHttpUser):
    """POST /convert with CELSIUSIFY_BATCH_SIZE random values."""

    wait_time = constant(0)

    @tag("celsiusify", "celsiusify-batch")
    @task
    def convert_batch(self) -> None:
        values = [random_fahrenheit() for _ in range(BATCH_SIZE)]
        with self.client.post(
            "/convert", json={"fahrenheit": values}, name="POST /convert", catch_response=True
        ) as response:
            record(response, check_batch(response.status_code, response.text, values))


class TFServingUser(FastHttpUser):
    """POST /v1/models/<model>:predict, {"instances": [[f], …]}, checked within a tolerance."""

    wait_time = constant(0)

    @tag("tfserving")
    @task
    def predict(self) -> None:
        values = [random_fahrenheit() for _ in range(TF_BATCH_SIZE)]
        with self.client.post(
            f"/v1/models/{TF_MODEL}:predict",
            data=tfserving_body(values),
            headers={"Content-Type": "application/json"},
            name="POST :predict",
            catch_response=True,
        ) as response:
            problem = check_tfserving(response.status_code, response.text, values, TF_TOLERANCE)
            record(response, problem)


__all__ = ["CelsiusifyBatchUser", "CelsiusifyGetUser", "TFServingUser"]
