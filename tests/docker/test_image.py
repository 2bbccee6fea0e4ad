"""The API image, built and run for real with production hardening flags."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from tests.helpers import hostile
from tests.helpers.docker import ROOT, base_image, docker
from tests.helpers.server import free_port

pytestmark = pytest.mark.docker

HARDENING = [
    "--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
    "--cpus", "0.5", "--memory", "128m",
]  # fmt: skip


class Container:
    def __init__(self, image: str, port: int) -> None:
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        # The image's own command, bound to loopback on a free port (host networking).
        result = docker(
            "run", "-d", "--network", "host", *HARDENING, image,
            "python", "-m", "app", "--host", "127.0.0.1", "--port", str(port),
            "--proxy-headers", "--shutdown-delay", "1", "--timeout-graceful-shutdown", "5",
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        self.id = result.stdout.strip()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.base + "/readyz", timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        pytest.fail("container not ready: " + docker("logs", self.id).stdout[-2000:])

    def get(self, path: str) -> tuple[int, bytes]:
        with urllib.request.urlopen(self.base + path, timeout=5) as response:
            return response.status, response.read()


@pytest.fixture
def container(api_image: str) -> Iterator[Container]:
    running = Container(api_image, free_port())
    yield running
    docker("rm", "-f", running.id)


def test_runs_as_its_own_non_root_user(api_image: str) -> None:
    config = json.loads(docker("image", "inspect", api_image).stdout)[0]["Config"]
    assert config["User"] == "10001:10001"
    assert config["ExposedPorts"] == {"8080/tcp": {}}
    assert config["Cmd"][:3] == ["python", "-m", "app"]
    assert "--proxy-headers" in config["Cmd"]
    assert "--timeout-graceful-shutdown" in config["Cmd"]
    result = docker("run", "--rm", *HARDENING, api_image, "id", "-u")
    assert result.stdout.strip() == "10001"


def test_image_holds_no_tests_or_tooling(api_image: str) -> None:
    listing = docker("run", "--rm", api_image, "ls", "/srv").stdout.split()
    assert listing == ["app"]
    packages = docker("run", "--rm", api_image, "pip", "list", "--format", "json").stdout
    names = {package["name"].lower() for package in json.loads(packages)}
    assert "fastapi" in names
    assert not names & {"pytest", "locust", "ruff", "mypy", "tensorflow-cpu", "matplotlib"}


def test_serves_hardened(container: Container) -> None:
    status, body = container.get("/convert?fahrenheit=212")
    assert status == 200
    assert json.loads(body)["celsius"] == "100.000000"
    assert container.get("/readyz")[0] == 200
    status, metrics = container.get("/metrics")
    assert status == 200
    assert b"celsiusify_conversions_total 1.0" in metrics


def test_docker_stop_drains_and_exits_zero(container: Container) -> None:
    sock, rest = hostile.open_slow_request(container.port, [212.0, 32.0])
    time.sleep(0.3)
    stopper = subprocess.Popen(["docker", "stop", "-t", "20", container.id])
    time.sleep(0.3)
    # Readiness flips while the drain runs; the process still answers.
    with pytest.raises(urllib.error.HTTPError, match="503"):
        urllib.request.urlopen(container.base + "/readyz", timeout=2)
    time.sleep(1.2)
    sock.sendall(rest)
    status, _, body = hostile.read_response(sock)
    sock.close()
    assert status == 200
    assert json.loads(body)["celsius"] == ["100.000000", "0.000000"]
    assert stopper.wait(timeout=30) == 0
    state = json.loads(docker("inspect", container.id).stdout)[0]["State"]
    assert state["ExitCode"] == 0
    assert not state["OOMKilled"]


def test_size_over_base(api_image: str) -> None:
    def size(image: str) -> int:
        return int(docker("image", "inspect", image, "--format", "{{.Size}}").stdout)

    added = size(api_image) - size(base_image(ROOT / "Dockerfile"))
    print(f"\nimage adds {added / 1e6:.1f} MB over its base")
    assert 0 < added < 150e6


def _still_running(container: Container) -> None:
    state = json.loads(docker("inspect", container.id).stdout)[0]["State"]
    assert state["Running"], state
    assert not state["OOMKilled"], state
    assert container.get("/healthz")[0] == 200


def test_survives_the_error_bomb_bodies(container: Container) -> None:
    """Once: one 258 KB body of bad values OOM-killed the container at 128 MiB."""
    for body in hostile.error_bomb_bodies().values():
        for _ in range(3):
            status, _, answer = hostile.post(container.port, body)
            assert status == 422
            assert len(answer) < 4096
    _still_running(container)


def test_survives_a_48_mib_header(container: Container) -> None:
    """Once: OOM-killed in 5.6 s."""
    status, closed = hostile.send_huge_header(container.port, 48 * 2**20)
    assert status == 431
    assert closed
    _still_running(container)


def test_survives_an_idle_connection_flood(container: Container) -> None:
    """Once: 15,411 idle sockets OOM-killed it; now max_connections (6,144) bounds them."""
    sockets = hostile.idle_connections(container.port, 16_000)
    try:
        time.sleep(1)
        _still_running(container)
        stats = json.loads(
            docker("stats", "--no-stream", "--format", "{{json .}}", container.id).stdout
        )
        print(f"\n16,000 idle connections: container memory {stats['MemUsage']}")
    finally:
        for sock in sockets:
            sock.close()
    time.sleep(0.5)
    _still_running(container)
