"""The TF Serving image: built and queried only when its base image is present locally.

No registry is reachable here and TF Serving ships no PyPI or Debian package, so on
these machines this is skipped with that reason; on a machine with the base image
(e.g. GitHub's runners after `docker pull`), it runs for real.
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


@pytest.fixture(scope="module")
def tfserving_image(docker_engine: None) -> str:
    tag = "celsiusify-tfserving:pytest"
    build(
        tag, ROOT / "tfserving" / "Dockerfile", ROOT / "tfserving",
        "no registry is reachable and TF Serving has no PyPI or Debian package, so it "
        "cannot be pulled or stood in for here; `docker pull` it where a registry is reachable",
    )  # fmt: skip
    return tag


@pytest.fixture
def tfserving(tfserving_image: str) -> Iterator[tuple[str, str]]:
    """(container id, REST base URL) of a running, hardened TF Serving container."""
    port = free_port()
    # Arguments replace the image's CMD: keep its flags (threads, batching, monitoring), move the
    # ports (host networking), as the chart's args do.
    image_cmd = json.loads(docker("image", "inspect", tfserving_image).stdout)[0]["Config"]["Cmd"]
    moved = {"--rest_api_port": str(port), "--port": str(free_port())}
    args = [
        f"{flag}={moved[flag]}" if flag in moved else arg
        for arg in image_cmd
        for flag in [arg.split("=", 1)[0]]
    ]
    result = docker(
        "run", "-d", "--network", "host", "--read-only", "--tmpfs", "/tmp", "--cpus", "1",
        "--cap-drop", "ALL", "--security-opt", "no-new-privileges", tfserving_image, *args,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    container = result.stdout.strip()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/v1/models/celsiusify", timeout=1):
                break
        except OSError:
            time.sleep(0.5)
    yield container, base
    docker("rm", "-f", container)


def test_tfserving_predicts(tfserving: tuple[str, str]) -> None:
    _, base = tfserving
    request = urllib.request.Request(
        base + "/v1/models/celsiusify:predict",
        data=json.dumps({"instances": [[212.0], [32.0]]}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        predictions = json.loads(response.read())["predictions"]
    assert abs(predictions[0][0] - 100.0) <= 0.01
    assert abs(predictions[1][0]) <= 0.01
    with urllib.request.urlopen(base + "/monitoring/prometheus/metrics", timeout=5) as metrics:
        assert b":tensorflow:" in metrics.read()


def test_sigterm_stops_the_server_at_once(tfserving: tuple[str, str]) -> None:
    """tini (PID 1) forwards SIGTERM; the server has no handler, so it exits at once with 143.
    Under the base image's bash entrypoint this waited the whole timeout and ended in SIGKILL."""
    container, _ = tfserving
    started = time.monotonic()
    result = docker("stop", "--time", "20", container)
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 10
    state = json.loads(docker("inspect", container).stdout)[0]["State"]
    assert state["ExitCode"] == 143, state
