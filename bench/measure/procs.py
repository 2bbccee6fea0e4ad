"""The processes bench starts: a free loopback port, CPU pinning, a server until it is ready.

`bench run` (the app beside Locust), `make perf` and `make overload` (the app or the Starlette
yardstick beside wrk) start their servers here, so a port, a pin and a readiness wait are
written once; tests/helpers/server.py takes free_port from here too.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from targets import ROOT


def free_port() -> int:
    """A currently unused loopback TCP port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cpu_sets() -> tuple[list[int], list[int]] | None:
    """(server cores, generator cores) when taskset exists and there are 2+ cores."""
    cores = sorted(os.sched_getaffinity(0))
    if shutil.which("taskset") is None or len(cores) < 2:
        return None
    return cores[:1], cores[1:]


def pinned(cores: Sequence[int] | None, command: list[str]) -> list[str]:
    """The command under `taskset -c <cores>`; unchanged without cores or without taskset."""
    if not cores or shutil.which("taskset") is None:
        return command
    return ["taskset", "-c", ",".join(map(str, cores)), *command]


def wait_until_ready(url: str, timeout: float = 20.0) -> None:
    """Poll url until it answers 200 or raise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 (loopback)
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server at {url} did not become ready in {timeout:.0f}s")


@dataclass(frozen=True)
class Server:
    """A started server: its base URL and its process id (taskset execs, so it is the server)."""

    base: str
    pid: int


@contextmanager
def serve(
    command: list[str], ready_path: str, port: int, cores: Sequence[int] | None = (0,)
) -> Iterator[Server]:
    """Run a server on the port, pinned to cores, until ready_path answers 200; SIGTERM after."""
    with subprocess.Popen(
        pinned(cores, command),
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    ) as process:
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_ready(base + ready_path)
            yield Server(base, process.pid)
        finally:
            process.terminate()
            process.wait(timeout=30)
