"""Instructions per request, counted by valgrind's callgrind: a figure that repeats.

Wall-clock rates on a shared 2-core machine swing ±15 % between rounds, so a 5 %
regression of the hot path is invisible to them. callgrind counts the
instructions the server executes, which does not depend on what else the
machine is doing: the same server, requests and environment give the same
count to within a fraction of a percent.

The server starts under callgrind with instrumentation off (valgrind still runs
it, about ten times slower), takes a warm-up of requests, then instrumentation
is switched on for a fixed number of requests sent one after another on a
keep-alive connection, and the counters are dumped. Everything the process
executed in that window, event loop included, is divided by the number of
requests. When an answer says `Connection: close` (the app's does after
CELSIUSIFY_MAX_REQUESTS_PER_CONNECTION requests) the client reconnects, as
real clients do, so the count includes what the server's reconnections cost.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

_TOTALS = re.compile(r"^(?:summary|totals):\s+(\d+)", re.MULTILINE)


def available() -> bool:
    """True when valgrind and callgrind_control are on PATH."""
    return bool(shutil.which("valgrind") and shutil.which("callgrind_control"))


def _connect(port: int, process: subprocess.Popen[bytes], timeout: float) -> socket.socket:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server under callgrind exited with {process.returncode}")
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=30)
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server under callgrind did not listen on {port} in {timeout:.0f}s")


def _exchange(sock: socket.socket, request: bytes) -> bool:
    """Send one request and read one whole response (Content-Length framed); True when the
    server said it closes the connection."""
    sock.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError("server closed the connection")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"unexpected answer: {head[:80]!r}")
    match = re.search(rb"(?i)content-length:\s*(\d+)", head)
    length = int(match.group(1)) if match else 0
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError("server closed the connection mid-body")
        body += chunk
    return re.search(rb"(?im)^connection:\s*close\s*$", head) is not None


def _control(*args: str) -> None:
    subprocess.run(["callgrind_control", *args], check=True, capture_output=True, timeout=60)


def instructions_per_request(
    command: list[str],
    port: int,
    path: str,
    *,
    warmup: int = 500,
    count: int = 2000,
    cwd: Path | None = None,
) -> float:
    """Instructions the server command executes per GET `path`, over `count` requests."""
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    env = {**os.environ, "PYTHONPATH": str(cwd) if cwd else os.environ.get("PYTHONPATH", "")}
    with tempfile.TemporaryDirectory(prefix="callgrind-") as out_dir:
        out_file = Path(out_dir) / "callgrind.out"
        valgrind = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={out_file}",
        ]
        with subprocess.Popen(
            [*valgrind, *command],
            cwd=cwd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ) as process:
            try:
                sock = _connect(port, process, timeout=120)
                try:
                    for number in range(warmup + count):
                        if number == warmup:
                            _control("--instr=on", str(process.pid))
                        if _exchange(sock, request):
                            sock.close()
                            sock = _connect(port, process, timeout=120)
                    _control("--dump", str(process.pid))
                finally:
                    sock.close()
            finally:
                process.terminate()
                process.wait(timeout=60)
        dumps = sorted(Path(out_dir).glob("callgrind.out.*"))
        if not dumps:
            raise RuntimeError("callgrind wrote no dump")
        match = _TOTALS.search(dumps[0].read_text(errors="replace"))
        if match is None:
            raise RuntimeError(f"no totals line in {dumps[0].name}")
        return int(match.group(1)) / count
