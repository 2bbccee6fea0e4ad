"""Answer checks: every response is compared with the formula. Stdlib only.

Each check returns None when the answer is right, else one line saying what is
wrong; the users turn that line into a Locust failure.
"""

from __future__ import annotations

import json
import math
import random

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


def _parse(body: str | bytes | None) -> tuple[object, str | None]:
    try:
        return json.loads(body or b""), None
    except ValueError:
        return None, f"body is not JSON: {str(body)[:80]!r}"


def check_single(status: int, body: str | bytes | None, fahrenheit: float) -> str | None:
    """GET /convert: 200, {"celsius": "<6 decimals>", "app_identifier": "…"}, right value."""
    if status != 200:
        return f"HTTP {status}"
    data, problem = _parse(body)
    if problem:
        return problem
    if not isinstance(data, dict) or set(data) != {"celsius", "app_identifier"}:
        return f"unexpected JSON shape: {str(data)[:80]}"
    if not isinstance(data["app_identifier"], str) or not data["app_identifier"]:
        return "app_identifier missing"
    expected = expected_celsius_text(fahrenheit)
    if data["celsius"] != expected:
        return f"wrong answer for {fahrenheit} F: {data['celsius']!r}, expected {expected!r}"
    return None


def check_batch(status: int, body: str | bytes | None, values: list[float]) -> str | None:
    """POST /convert: 200, one right six-decimal string per value, in order."""
    if status != 200:
        return f"HTTP {status}"
    data, problem = _parse(body)
    if problem:
        return problem
    if not isinstance(data, dict) or not isinstance(data.get("celsius"), list):
        return f"unexpected JSON shape: {str(data)[:80]}"
    answers = data["celsius"]
    if len(answers) != len(values):
        return f"{len(answers)} answers for {len(values)} values"
    for value, answer in zip(values, answers, strict=True):
        if answer != expected_celsius_text(value):
            return (
                f"wrong answer for {value} F: {answer!r}, expected {expected_celsius_text(value)!r}"
            )
    return None


def check_tfserving(
    status: int, body: str | bytes | None, values: list[float], tolerance: float
) -> str | None:
    """TF Serving row format: {"predictions": [[c], …]}, each within tolerance °C."""
    if status != 200:
        return f"HTTP {status}"
    data, problem = _parse(body)
    if problem:
        return problem
    predictions = data.get("predictions") if isinstance(data, dict) else None
    if not isinstance(predictions, list) or len(predictions) != len(values):
        return f"unexpected JSON shape: {str(data)[:80]}"
    for value, row in zip(values, predictions, strict=True):
        if not (isinstance(row, list) and len(row) == 1 and isinstance(row[0], (int, float))):
            return f"prediction is not a one-element row: {row!r}"
        error = abs(row[0] - expected_celsius(value))
        if not math.isfinite(row[0]) or error > tolerance:
            return f"prediction {row[0]} for {value} F is off by {error:.4g} (> {tolerance})"
    return None


def tfserving_body(values: list[float]) -> str:
    """The documented REST row format: one [f] row per instance."""
    return json.dumps({"instances": [[value] for value in values]})
