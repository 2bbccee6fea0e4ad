"""The TF Serving stand-in's image (tests/standins/Dockerfile.tfserving), built and run once.

Run as the TF Serving image is in test_tfserving_image.py: hardened, host network, the image's
CMD with the ports moved. Where the real image cannot be pulled, this shows the stand-in image
takes the same flags and answers the same paths.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator

import pytest

from tests.helpers.docker import ROOT, build, docker
from tests.helpers.server import free_port

pytestmark = pytest.mark.docker
STANDINS = ROOT / "tests" / "standins"


@pytest.fixture(scope="module")
def standin_image(docker_engine: None) -> str:
    tag = "celsiusify-tfserving-standin:pytest"
    build(tag, STANDINS / "Dockerfile.tfserving", STANDINS,
          "run scripts/make-base-image.sh (.ci/run does)")  # fmt: skip
    return tag


@pytest.fixture
def standin(standin_image: str) -> Iterator[tuple[str, str]]:
    """(container id, REST base URL) of a running, hardened stand-in container."""
    port = free_port()
    image_cmd = json.loads(docker("image", "inspect", standin_image).stdout)[0]["Config"]["Cmd"]
    moved = {"--rest_api_port": str(port), "--port": str(free_port())}
    args = [
        f"{flag}={moved[flag]}" if flag in moved else arg
        for arg in image_cmd
        for flag in [arg.split("=", 1)[0]]
    ]
    result = docker(
        "run", "-d", "--network", "host", "--read-only", "--tmpfs", "/tmp", "--cpus", "1",
        "--cap-drop", "ALL", "--security-opt", "no-new-privileges", standin_image, *args,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    container = result.stdout.strip()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/v1/models/celsiusify", timeout=1):
                break
        except OSError:
            time.sleep(0.2)
    yield container, base
    docker("rm", "-f", container)


def test_the_standin_image_answers_status_and_predict(standin: tuple[str, str]) -> None:
    _, base = standin
    with urllib.request.urlopen(base + "/v1/models/celsiusify", timeout=5) as response:
        assert response.headers["X-Celsiusify-Standin"] == "tfserving"
        assert json.loads(response.read())["model_version_status"][0]["state"] == "AVAILABLE"
    request = urllib.request.Request(
        base + "/v1/models/celsiusify:predict",
        data=json.dumps({"instances": [[212.0], [32.0]]}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert json.loads(response.read()) == {"predictions": [[100.0], [0.0]]}


def test_the_standin_image_is_labelled_and_non_root(standin_image: str) -> None:
    config = json.loads(docker("image", "inspect", standin_image).stdout)[0]["Config"]
    assert config["Labels"]["org.opencontainers.image.title"] == "tfserving-standin"
    assert config["Labels"]["io.celsiusify.standin"] == "true"
    assert config["User"] == "10001:10001"


def test_docker_stop_ends_the_standin_at_once_with_0(standin: tuple[str, str]) -> None:
    """PID 1 with its own SIGTERM handler: no tini needed, unlike TF Serving's image."""
    container, _ = standin
    started = time.monotonic()
    assert docker("stop", "--time", "20", container).returncode == 0
    assert time.monotonic() - started < 10
    state = json.loads(docker("inspect", container).stdout)[0]["State"]
    assert state["ExitCode"] == 0, state
