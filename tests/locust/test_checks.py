"""The answer checks and the step-load arithmetic (no Locust import)."""

from __future__ import annotations

import json
import logging
import random
from types import SimpleNamespace

import pytest
from lib.checks import (
    KINDS,
    WRONG_ANSWER,
    FailureLog,
    Problem,
    check_batch,
    check_single,
    check_tfserving,
    expected_celsius_text,
    http_status_problem,
    random_fahrenheit,
    tfserving_body,
)
from lib.options import LoadOptions
from lib.stages import Stage, shape_tick, step_stages

from app.conversion import convert

ID = "abcdefgh-abcdefgh-abcdefgh-abcdefgh"


def test_expected_text_matches_the_service_exactly() -> None:
    rng = random.Random(7)
    for _ in range(5000):
        value = random_fahrenheit(rng)
        assert expected_celsius_text(value) == convert(value)
        assert -459.67 <= value <= 1000.0
        assert float(str(value)) == value


def single(celsius: str) -> str:
    return json.dumps({"celsius": celsius, "app_identifier": ID})


@pytest.mark.parametrize(
    ("status", "body", "problem"),
    [
        (200, single("100.000000"), None),
        (200, single("100.00000"), "wrong answer"),
        (200, single("99.999999"), "wrong answer"),
        (200, json.dumps({"celsius": "100.000000"}), "shape"),
        (200, json.dumps({"celsius": "100.000000", "app_identifier": ""}), "app_identifier"),
        (200, "<html>", "not JSON"),
        (500, single("100.000000"), "HTTP status 500"),
        (422, "{}", "HTTP status 422"),
        (0, "", "no HTTP response"),
    ],
)
def test_check_single(status: int, body: str, problem: str | None) -> None:
    result = check_single(status, body, 212.0)
    if problem is None:
        assert result is None
    else:
        assert result is not None
        assert problem in str(result)


def test_check_batch() -> None:
    values = [212.0, 32.0]
    good = json.dumps({"celsius": ["100.000000", "0.000000"], "app_identifier": ID})
    assert check_batch(200, good, values) is None
    swapped = json.dumps({"celsius": ["0.000000", "100.000000"], "app_identifier": ID})
    assert "wrong answer" in str(check_batch(200, swapped, values))
    short = json.dumps({"celsius": ["100.000000"], "app_identifier": ID})
    assert "1 answers for 2" in str(check_batch(200, short, values))


def test_check_tfserving_tolerance() -> None:
    values = [212.0, -40.0]
    assert json.loads(tfserving_body(values)) == {"instances": [[212.0], [-40.0]]}
    close = json.dumps({"predictions": [[100.004], [-39.996]]})
    assert check_tfserving(200, close, values, 0.01) is None
    far = json.dumps({"predictions": [[100.02], [-40.0]]})
    assert "off by" in str(check_tfserving(200, far, values, 0.01))
    flat = json.dumps({"predictions": [100.0, -40.0]})
    assert "one-element row" in str(check_tfserving(200, flat, values, 0.01))
    assert "shape" in str(check_tfserving(200, json.dumps({"outputs": []}), values, 0.01))


def test_failure_names_stay_a_small_fixed_set() -> None:
    """Locust keys failure rows by the message: it must not carry the value or the answer."""
    rng = random.Random(3)
    kinds = set()
    for _ in range(2000):
        value = random_fahrenheit(rng)
        wrong = f"{float(expected_celsius_text(value)) + 0.5:.6f}"
        problem = check_single(200, single(wrong), value)
        assert problem is not None
        assert str(value) in problem.detail  # the example keeps the value, for the log
        kinds.add(problem.kind)
        batch = check_batch(200, json.dumps({"celsius": [wrong], "app_identifier": ID}), [value])
        assert batch is not None
        kinds.add(batch.kind)
        far = check_tfserving(200, json.dumps({"predictions": [[1e6]]}), [value], 0.01)
        assert far is not None
        kinds.add(far.kind)
        kinds.add(http_status_problem(rng.choice([0, 404, 500, 503, 1000])).kind)
    assert kinds <= set(KINDS) | {"HTTP status 404", "HTTP status 500", "HTTP status 503"}
    assert WRONG_ANSWER in kinds


def test_failure_log_keeps_a_few_examples_per_kind(caplog: pytest.LogCaptureFixture) -> None:
    log = FailureLog(per_kind=2)
    with caplog.at_level(logging.WARNING, logger="celsiusify.checks"):
        logged = [log.record(Problem(WRONG_ANSWER, f"{n} F")) for n in range(50)]
        logged.append(log.record(Problem("HTTP status 500", "")))
    assert logged == [True, True] + [False] * 48 + [True]
    assert len(caplog.records) == 3
    assert "0 F" in caplog.records[0].getMessage()
    assert "no more examples" in caplog.records[1].getMessage()
    assert log.seen == {WRONG_ANSWER: 50, "HTTP status 500": 1}


def test_step_stages_arithmetic() -> None:
    assert step_stages(4, 4, 20, 16) == [
        Stage(4, 20, 4.0), Stage(8, 40, 4.0), Stage(12, 60, 4.0), Stage(16, 80, 4.0)
    ]  # fmt: skip
    assert step_stages(2, 3, 10, 9, spawn_rate=1) == [
        Stage(2, 10, 1), Stage(5, 20, 1), Stage(8, 30, 1)
    ]  # fmt: skip
    assert step_stages(5, 1, 1.5, 5) == [Stage(5, 1.5, 5.0)]


@pytest.mark.parametrize(("start", "step", "seconds", "maximum"),
                         [(0, 1, 1, 5), (2, 0, 1, 5), (2, 1, 0, 5), (6, 1, 1, 5)])  # fmt: skip
def test_step_stages_refuses_nonsense(start: int, step: int, seconds: float, maximum: int) -> None:
    with pytest.raises(ValueError, match="step load needs"):
        step_stages(start, step, seconds, maximum)


def test_stages_from_options() -> None:
    """As Locust's parser hands them over; the web UI gives back strings for some."""
    options = SimpleNamespace(step_start_users=10, step_users=5, step_seconds=3.0,
                              step_max_users="20", step_spawn_rate="")  # fmt: skip
    assert [(s.users, s.end_second) for s in LoadOptions.of(options).stages()] == [
        (10, 3.0), (15, 6.0), (20, 9.0)
    ]  # fmt: skip
    assert LoadOptions.of(None).stages()[-1] == Stage(40, 200.0, 4.0)


def test_shape_tick_follows_the_stages() -> None:
    stages = step_stages(2, 2, 10, 6)
    assert shape_tick(stages, 0) == (2, 2.0)
    assert shape_tick(stages, 9.9) == (2, 2.0)
    assert shape_tick(stages, 10) == (4, 2.0)
    assert shape_tick(stages, 29.9) == (6, 2.0)
    assert shape_tick(stages, 30) is None
    assert shape_tick(stages, 3000, then_idle=True) == (0, 2.0)
