"""Shared fixtures: in-process clients and real uvicorn processes on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
FIXED_ID = "TestTest-12345678-abcdefgh-ZYXWVUTS"


@pytest.fixture
def make_client() -> Iterator[Callable[..., TestClient]]:
    """Factory: a started TestClient (lifespan ran) for the given settings."""
    clients: list[TestClient] = []

    def build(**settings: object) -> TestClient:
        client = TestClient(create_app(Settings(**settings)))  # type: ignore[arg-type]
        client.__enter__()
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    """A client on default settings with a fixed identifier."""
    return make_client(app_identifier=FIXED_ID)


def free_port() -> int:
    """An unused loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(base: str, process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    """Poll /readyz until 200; fail with the server's output if it dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read().decode() if process.stdout else ""
            pytest.fail(f"server exited with {process.returncode}:\n{output}")
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"server at {base} not ready after {timeout}s")


class ServerProcess:
    """A `python -m app` process on a free loopback port."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app", "--port", str(self.port), *args],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        wait_ready(self.base, self.process)

    def stop(self) -> int:
        """SIGTERM and wait; the exit code."""
        if self.process.poll() is None:
            self.process.terminate()
        return self.process.wait(timeout=30)

    def output(self) -> str:
        """Everything the server printed (after it exited)."""
        return self.process.stdout.read().decode() if self.process.stdout else ""


@pytest.fixture
def start_server() -> Iterator[Callable[..., ServerProcess]]:
    """Factory for real server processes; all are stopped at teardown."""
    servers: list[ServerProcess] = []

    def start(*args: str, env: dict[str, str] | None = None) -> ServerProcess:
        server = ServerProcess(*args, env=env)
        servers.append(server)
        return server

    yield start
    for server in servers:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait(timeout=10)
