"""`python -m app` as a real process on a free loopback port, as the app and Locust tests run it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import coverage
import pytest

from bench.measure.procs import free_port

ROOT = Path(__file__).resolve().parents[2]
# free_port is bench's (bench/measure/procs.py), written once for the benchmarks and the tests.
__all__ = ["FIXED_ID", "ROOT", "ServerProcess", "free_port", "python_command", "wait_ready"]
# An identifier tests fix through CELSIUSIFY_APP_IDENTIFIER or Settings(app_identifier=...).
FIXED_ID = "TestTest-12345678-abcdefgh-ZYXWVUTS"


def python_command() -> list[str]:
    """`python`, under `coverage run` when this test run measures coverage (`make test` does).

    Only the server processes are measured this way, not every Python subprocess
    (coverage's `patch = subprocess` would also trace Locust's gevent processes and
    the benchmark's, slowing the timing-sensitive ones down). Their data files land
    beside the run's own, and pytest-cov combines them at the end.
    """
    current = coverage.Coverage.current()
    if current is None:
        return [sys.executable]
    data_file = Path(current.config.data_file).resolve()
    return [
        sys.executable, "-m", "coverage", "run", "--parallel-mode",
        f"--rcfile={ROOT / 'pyproject.toml'}", f"--data-file={data_file}",
    ]  # fmt: skip


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
            [*python_command(), "-m", "app", "--port", str(self.port), *args],
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

    def close(self) -> None:
        """Stop without the drain (SIGINT), so coverage data is written; SIGKILL after 10 s."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def output(self) -> str:
        """Everything the server printed (after it exited)."""
        return self.process.stdout.read().decode() if self.process.stdout else ""
