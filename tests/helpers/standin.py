"""The TF Serving stand-in (tests/standins/tfserving.py) as a process on a free loopback port,
for tests that need a server answering TF Serving's REST API."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.measure.procs import free_port

STANDIN = Path(__file__).resolve().parents[1] / "standins" / "tfserving.py"


@contextmanager
def tfserving_standin(model: str = "celsiusify") -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """The stand-in serving `model` until the block ends; (its process, its base URL)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(STANDIN), f"--rest_api_port={port}", f"--model_name={model}",
         "--standin_rest_api_host=127.0.0.1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"{base}/monitoring/prometheus/metrics", timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the stand-in did not start ({process.poll()})") from None
                time.sleep(0.05)
        yield process, base
    finally:
        process.terminate()
        process.wait(timeout=10)
