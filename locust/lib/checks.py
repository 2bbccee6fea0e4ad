"""Answer checks: every response is compared with the formula. Stdlib only.

Each check returns None when the answer is right, else a Problem: a `kind` from a small fixed
set (KINDS, or "HTTP status N") and a `detail` with the value, answer and expectation. Locust
keys its failure rows by the message, so the users report only the kind: a server answering
every request wrong makes one row, not one per value (which grows the master's memory, the
failures CSV and the UI without bound). FailureLog logs the first few details of each kind.
"""

from __future__ import annotations

import json
import logging
import math
import random
from collections.abc import Callable
from dataclasses import dataclass

WRONG_ANSWER = "wrong answer"
NOT_JSON = "body is not JSON"
BAD_SHAPE = "unexpected JSON shape"
NO_IDENTIFIER = "app_identifier missing"
WRONG_COUNT = "wrong number of answers"
BAD_ROW = "prediction is not a one-element row"
OFF_TOLERANCE = "prediction off by more than the tolerance"
NO_RESPONSE = "no HTTP response"
KINDS = (WRONG_ANSWER, NOT_JSON, BAD_SHAPE, NO_IDENTIFIER, WRONG_COUNT, BAD_ROW, OFF_TOLERANCE,
         NO_RESPONSE)  # fmt: skip


@dataclass(frozen=True)
class Problem:
    """What is wrong with one answer: kind names the failure, detail is the example."""

    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}" if self.detail else self.kind


def http_status_problem(status: int) -> Problem:
    """A non-200 answer: "HTTP status N" (N is a 3-digit code, so these rows stay bounded too)."""
    if 100 <= status <= 999:
        return Problem(f"HTTP status {status}", "")
    return Problem(NO_RESPONSE, f"status {status}")


class FailureLog:
    """Logs the first `per_kind` problems of each kind, then one line saying it stops."""

    def __init__(self, per_kind: int = 3, logger: logging.Logger | None = None) -> None:
        self.per_kind = per_kind
        self.logger = logger or logging.getLogger("celsiusify.checks")
        self.seen: dict[str, int] = {}

    def record(self, problem: Problem) -> bool:
        """Count the problem; True if it was logged."""
        count = self.seen.get(problem.kind, 0) + 1
        self.seen[problem.kind] = count
        if count > self.per_kind:
            return False
        more = " (no more examples of this kind will be logged)" if count == self.per_kind else ""
        self.logger.warning("failure %r, example %d: %s%s", problem.kind, count, problem, more)
        return True


ABSOLUTE_ZERO_FAHRENHEIT = -459.67
# Fahrenheit values the users send: physically meaningful and exact in two decimals.
LOW_FAHRENHEIT, HIGH_FAHRENHEIT = ABSOLUTE_ZERO_FAHRENHEIT, 1000.0


def random_fahrenheit(rng: random.Random | None = None) -> float:
    """A value in [-459.67, 1000] with two decimals, so its text is exact in a URL."""
    return round((rng or random).uniform(LOW_FAHRENHEIT, HIGH_FAHRENHEIT), 2)


def expected_celsius_text(fahrenheit: float) -> str:
    """The service's contract, computed independently: six decimals, no "-0.000000"."""
    text = f"{(fahrenheit - 32.0) * 5.0 / 9.0:.6f}"
    return "0.000000" if text == "-0.000000" else text


def expected_celsius(fahrenheit: float) -> float:
    """The exact value, for checking a model's float answer within a tolerance."""
    return (fahrenheit - 32.0) * 5.0 / 9.0


def _parse(body: str | bytes | None) -> tuple[object, Problem | None]:
    try:
        return json.loads(body or b""), None
    except ValueError:
        return None, Problem(NOT_JSON, f"{str(body)[:80]!r}")


# Told the identifier of each right answer (lib/share.py counts them).
AnsweredBy = Callable[[str], None]


def check_single(
    status: int, body: str | bytes | None, fahrenheit: float, answered_by: AnsweredBy | None = None
) -> Problem | None:
    """GET /convert: 200, {"celsius": "<6 decimals>", "app_identifier": "…"}, right value."""
    if status != 200:
        return http_status_problem(status)
    data, problem = _parse(body)
    if problem:
        return problem
    if not isinstance(data, dict) or set(data) != {"celsius", "app_identifier"}:
        return Problem(BAD_SHAPE, str(data)[:80])
    if not isinstance(data["app_identifier"], str) or not data["app_identifier"]:
        return Problem(NO_IDENTIFIER, str(data)[:80])
    expected = expected_celsius_text(fahrenheit)
    if data["celsius"] != expected:
        return Problem(WRONG_ANSWER, f"{fahrenheit} F: {data['celsius']!r}, expected {expected!r}")
    if answered_by is not None:
        answered_by(data["app_identifier"])
    return None


def check_batch(
    status: int,
    body: str | bytes | None,
    values: list[float],
    answered_by: AnsweredBy | None = None,
) -> Problem | None:
    """POST /convert: 200, one right six-decimal string per value, in order."""
    if status != 200:
        return http_status_problem(status)
    data, problem = _parse(body)
    if problem:
        return problem
    if not isinstance(data, dict) or not isinstance(data.get("celsius"), list):
        return Problem(BAD_SHAPE, str(data)[:80])
    answers = data["celsius"]
    if len(answers) != len(values):
        return Problem(WRONG_COUNT, f"{len(answers)} answers for {len(values)} values")
    for value, answer in zip(values, answers, strict=True):
        if answer != expected_celsius_text(value):
            expected = expected_celsius_text(value)
            return Problem(WRONG_ANSWER, f"{value} F: {answer!r}, expected {expected!r}")
    identifier = data.get("app_identifier")
    if answered_by is not None and isinstance(identifier, str) and identifier:
        answered_by(identifier)
    return None


def check_tfserving(
    status: int, body: str | bytes | None, values: list[float], tolerance: float
) -> Problem | None:
    """TF Serving row format: {"predictions": [[c], …]}, each within tolerance °C."""
    if status != 200:
        return http_status_problem(status)
    data, problem = _parse(body)
    if problem:
        return problem
    predictions = data.get("predictions") if isinstance(data, dict) else None
    if not isinstance(predictions, list) or len(predictions) != len(values):
        return Problem(BAD_SHAPE, str(data)[:80])
    for value, row in zip(values, predictions, strict=True):
        if not (isinstance(row, list) and len(row) == 1 and isinstance(row[0], (int, float))):
            return Problem(BAD_ROW, f"{row!r}"[:80])
        error = abs(row[0] - expected_celsius(value))
        if not math.isfinite(row[0]) or error > tolerance:
            return Problem(
                OFF_TOLERANCE, f"{row[0]} for {value} F is off by {error:.4g} (> {tolerance})"
            )
    return None


def tfserving_body(values: list[float]) -> str:
    """The documented REST row format: one [f] row per instance."""
    return json.dumps({"instances": [[value] for value in values]})
