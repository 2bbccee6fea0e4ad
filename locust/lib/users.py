"""Locust users for Celsiusify (GET, batch POST) and TensorFlow Serving.

Closed loop with no think time (wait_time = constant(0)): each user sends its
next request when the previous answer arrives, so offered load is set by the
user count and the server's speed, never by sleeps. Every answer is checked:
CheckedUser, the abstract base, sends a request, checks the answer with a
function of lib/checks.py and records a wrong one as a failure named by its kind. The
Celsiusify users count each right answer's app_identifier (lib/share.py): who answered.
"""

from __future__ import annotations

from collections.abc import Callable
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
from lib.options import LoadOptions
from lib.share import COUNTER
from locust import FastHttpUser, constant, tag, task

# (status, body) -> the problem with the answer, or None when it is right.
Check = Callable[[int, "str | bytes | None"], "Problem | None"]


class CheckedUser(FastHttpUser):
    """Shared by every user: no think time, options read at start, every answer checked."""

    abstract = True
    wait_time = constant(0)
    # One log per process, shared by its users: a few examples of each failure kind.
    failure_log = FailureLog()
    options: LoadOptions

    def on_start(self) -> None:
        # On a worker, parsed_options already holds the master's values (sent with the spawn).
        self.options = LoadOptions.of(self.environment.parsed_options)
        self.failure_log.per_kind = self.options.failure_examples

    def checked(self, method: str, path: str, name: str, check: Check, **request: Any) -> None:
        """Send one request; a wrong answer is a failure named by its kind (a bounded set)."""
        with self.client.request(
            method, path, name=name, catch_response=True, **request
        ) as response:
            problem = check(response.status_code, response.text)
            if problem:
                response.failure(problem.kind)
                self.failure_log.record(problem)
            else:
                response.success()


class CelsiusifyGetUser(CheckedUser):
    """GET /convert?fahrenheit=<random> — the main benchmark."""

    @tag("celsiusify", "celsiusify-get")
    @task
    def convert_one(self) -> None:
        fahrenheit = random_fahrenheit()
        self.checked(
            "GET", f"/convert?fahrenheit={fahrenheit}", "GET /convert",
            lambda status, body: check_single(status, body, fahrenheit, COUNTER.count),
        )  # fmt: skip


class CelsiusifyBatchUser(CheckedUser):
    """POST /convert with --celsiusify-batch-size (CELSIUSIFY_BATCH_SIZE) random values."""

    @tag("celsiusify", "celsiusify-batch")
    @task
    def convert_batch(self) -> None:
        values = [random_fahrenheit() for _ in range(self.options.celsiusify_batch_size)]
        self.checked(
            "POST", "/convert", "POST /convert",
            lambda status, body: check_batch(status, body, values, COUNTER.count),
            json={"fahrenheit": values},
        )  # fmt: skip


class TFServingUser(CheckedUser):
    """POST /v1/models/<model>:predict, {"instances": [[f], …]}, checked within a tolerance."""

    @tag("tfserving")
    @task
    def predict(self) -> None:
        options = self.options
        values = [random_fahrenheit() for _ in range(options.tfserving_batch_size)]
        self.checked(
            "POST", f"/v1/models/{options.tfserving_model}:predict", "POST :predict",
            lambda status, body: check_tfserving(
                status, body, values, options.tfserving_tolerance_celsius
            ),
            data=tfserving_body(values),
            headers={"Content-Type": "application/json"},
        )  # fmt: skip


__all__ = ["CelsiusifyBatchUser", "CelsiusifyGetUser", "CheckedUser", "TFServingUser"]
