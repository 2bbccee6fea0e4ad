"""The committed SavedModel, its signature, its accuracy, and retraining from scratch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

tf = pytest.importorskip(
    "tensorflow",
    reason="tensorflow is not importable in this environment; it lives in .venv-tf "
    "(tfserving/requirements.txt), where `make tf-test` and .ci/run run these tests",
)
np = pytest.importorskip("numpy")

from lib.checks import check_tfserving, tfserving_body  # noqa: E402

pytestmark = pytest.mark.tensorflow

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "tfserving" / "models"
COMMITTED = MODELS / "celsiusify" / "1"
BOUND = 0.01
LOW, HIGH = -459.67, 1000.0


def load(path: Path) -> Any:
    return tf.saved_model.load(str(path)).signatures["serving_default"]


def grid() -> Any:
    return np.linspace(LOW, HIGH, 20_001, dtype=np.float32).reshape(-1, 1)


def max_error(signature: Any, values: Any) -> float:
    predicted = signature(fahrenheit=tf.constant(values))["celsius"].numpy().astype(np.float64)
    exact = (values.astype(np.float64) - 32.0) * 5.0 / 9.0
    return float(np.abs(predicted - exact).max())


def test_committed_signature() -> None:
    signature = load(COMMITTED)
    args, kwargs = signature.structured_input_signature
    assert args == ()
    assert set(kwargs) == {"fahrenheit"}
    spec = kwargs["fahrenheit"]
    assert spec.dtype == tf.float32
    assert spec.shape.as_list() == [None, 1]
    outputs = signature.structured_outputs
    assert set(outputs) == {"celsius"}
    assert outputs["celsius"].dtype == tf.float32
    assert outputs["celsius"].shape.as_list() == [None, 1]


def test_committed_model_meets_the_bound() -> None:
    assert max_error(load(COMMITTED), grid()) <= BOUND
    for fahrenheit, celsius in ((212.0, 100.0), (32.0, 0.0), (-40.0, -40.0), (LOW, -273.15)):
        value = load(COMMITTED)(fahrenheit=tf.constant([[fahrenheit]], tf.float32))["celsius"]
        assert abs(float(value.numpy()[0, 0]) - celsius) <= BOUND


def test_committed_metrics_describe_the_committed_model() -> None:
    metrics = json.loads((MODELS / "metrics.json").read_text())
    assert metrics["meets_bound"] is True
    assert metrics["held_out"]["max_abs_error"] <= BOUND
    assert metrics["learned"]["weight"] == pytest.approx(5 / 9, abs=1e-5)
    assert metrics["learned"]["bias"] == pytest.approx(-160 / 9, abs=5e-3)
    measured = max_error(load(COMMITTED), grid())
    assert measured == pytest.approx(metrics["held_out"]["max_abs_error"], rel=0.5, abs=1e-4)


def test_locust_tfserving_body_through_the_signature() -> None:
    values = [212.0, 32.0, -40.0, 98.6, -459.67, 999.99]
    instances = json.loads(tfserving_body(values))["instances"]
    tensor = tf.constant(instances, dtype=tf.float32)
    predictions = load(COMMITTED)(fahrenheit=tensor)["celsius"].numpy().tolist()
    answer = json.dumps({"predictions": predictions})
    assert check_tfserving(200, answer, values, BOUND) is None


@pytest.mark.timeout(900)
def test_training_from_scratch_meets_the_bound(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "tfserving" / "train.py"), "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=880, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["meets_bound"] is True
    print(f"\nretrained in {metrics['training']['train_seconds']} s, "
          f"max error {metrics['held_out']['max_abs_error']:.2e} C")  # fmt: skip
    retrained = load(tmp_path / "celsiusify" / "1")
    assert max_error(retrained, grid()) <= BOUND
    committed = json.loads((MODELS / "metrics.json").read_text())
    assert metrics["learned"]["weight"] == pytest.approx(committed["learned"]["weight"], rel=1e-3)
