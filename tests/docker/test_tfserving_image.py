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

from tests.conftest import free_port
from tests.docker.conftest import ROOT, build, docker

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
def tfserving(tfserving_image: str) -> Iterator[str]:
    port = free_port()
    # Arguments replace the image's CMD: keep its flags (batching, monitoring), move the ports.
    image_cmd = json.loads(docker("image", "inspect", tfserving_image).stdout)[0]["Config"]["Cmd"]
    result = docker(
        "run", "-d", "--network", "host", "--read-only", "--tmpfs", "/tmp",
        "--cap-drop", "ALL", "--security-opt", "no-new-privileges", tfserving_image,
        *image_cmd, f"--rest_api_port={port}", f"--port={free_port()}",
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
    yield base
    docker("rm", "-f", container)


def test_tfserving_predicts(tfserving: str) -> None:
    request = urllib.request.Request(
        tfserving + "/v1/models/celsiusify:predict",
        data=json.dumps({"instances": [[212.0], [32.0]]}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        predictions = json.loads(response.read())["predictions"]
    assert abs(predictions[0][0] - 100.0) <= 0.01
    assert abs(predictions[1][0]) <= 0.01
    with urllib.request.urlopen(tfserving + "/monitoring/prometheus/metrics", timeout=5) as metrics:
        assert b":tensorflow:" in metrics.read()
