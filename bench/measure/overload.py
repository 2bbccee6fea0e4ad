"""`python -m bench overload`: the app past its capacity, as an overloaded cluster would drive it.

One `python -m app` process pinned to CPU 0 (limits at their defaults unless
given with CELSIUSIFY_* variables); wrk on CPU 1 sends GET /convert with 32,
256, 1,024 and 4,096 connections, one level after another. For each level it
prints requests/s, p50/p99 latency (over every answer, 200 and 503 alike: in a
saturated event loop the wait dominates and both kinds wait the same), the
share of 503s (load shed), the slowest readiness probe (a new connection every
250 ms, as kubelet opens one per probe) and the peak resident memory.

Then the error-bomb bodies: server CPU per request and answer size for the
258 KB bodies of bad values that once cost 631 ms and 6 MB each.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path

from bench.measure.procs import free_port, pinned, serve

LEVELS = (32, 256, 1024, 4096)
SETTLE_SECONDS = 1.0
_PERCENTILE = re.compile(r"^\s+(50|99)%\s+([0-9.]+)(us|ms|s)\s*$", re.MULTILINE)
_RATE = re.compile(r"Requests/sec:\s+([0-9.]+)")
_TOTAL = re.compile(r"(\d+) requests in")
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def error_bomb_bodies() -> dict[str, bytes]:
    """Bodies within the 256 KiB limit that once cost megabytes of error answer each."""
    return {
        "43000-below-absolute-zero": b'{"fahrenheit":[' + b",".join([b"-1000"] * 43_000) + b"]}",
        "52000-true": b'{"fahrenheit":[' + b",".join([b"true"] * 52_000) + b"]}",
        "20000-keys": b"{" + b",".join(b'"k%d":1' % i for i in range(20_000)) + b"}",
    }


def rss_bytes(pid: int) -> int:
    """Resident set size of a running process (Linux /proc); RuntimeError when it has none."""
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}: the process has exited")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _server_pid(port: int) -> int:
    """The pid listening on the port (serve() runs it under taskset, which execs)."""
    output = subprocess.run(
        ["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"pid=(\d+)", output)
    if match is None:
        raise RuntimeError(f"no process listens on {port}")
    return int(match.group(1))


class Watcher(threading.Thread):
    """Probes /readyz on a new connection every 250 ms and samples the server's RSS."""

    def __init__(self, port: int, pid: int) -> None:
        super().__init__(daemon=True)
        self.port, self.pid = port, pid
        self.stop = threading.Event()
        self.slowest = 0.0
        self.failed = 0
        self.peak_rss = 0
        self.probes = 0

    def run(self) -> None:
        request = b"GET /readyz HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n"
        # wrk opens all its connections at once; a probe in that storm measures the
        # kernel's SYN retransmits (1 s, 3 s), which plain uvicorn shows as well.
        self.stop.wait(SETTLE_SECONDS)
        while not self.stop.is_set():
            # When the server has gone away the probe below records the failure.
            with suppress(OSError, RuntimeError):
                self.peak_rss = max(self.peak_rss, rss_bytes(self.pid))
            start = time.monotonic()
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
                    sock.sendall(request)
                    answer = sock.recv(256)
                ok = answer.startswith(b"HTTP/1.1 200")
            except OSError:
                ok = False
            self.probes += 1
            self.failed += not ok
            self.slowest = max(self.slowest, time.monotonic() - start)
            self.stop.wait(0.25)


def run_level(url: str, port: int, pid: int, connections: int, seconds: int) -> dict[str, float]:
    """One wrk run at `connections`; the figures of the module docstring."""
    watcher = Watcher(port, pid)
    watcher.start()
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    output = subprocess.run(
        pinned([1], [*command, url]), check=True, capture_output=True, text=True
    ).stdout
    watcher.stop.set()
    watcher.join()
    latency = {p: float(v) * _UNIT[u] for p, v, u in _PERCENTILE.findall(output)}
    rate = _RATE.search(output)
    total = _TOTAL.search(output)
    non_2xx = _NON_2XX.search(output)
    errors = _ERRORS.search(output)
    if rate is None or total is None or "50" not in latency:
        raise RuntimeError(f"could not read wrk output:\n{output}")
    requests = int(total.group(1))
    return {
        "connections": connections,
        "requests_per_s": float(rate.group(1)),
        "p50_ms": latency["50"],
        "p99_ms": latency["99"],
        "shed_share": (int(non_2xx.group(1)) if non_2xx else 0) / max(requests, 1),
        "socket_errors": sum(int(n) for n in errors.groups()) if errors else 0,
        "slowest_probe_ms": watcher.slowest * 1000,
        "failed_probes": watcher.failed,
        "probes": watcher.probes,
        "peak_rss_mib": watcher.peak_rss / 2**20,
    }


def error_bombs(port: int, pid: int, repeat: int) -> dict[str, dict[str, float]]:
    """Server CPU per request and answer size for each error-bomb body."""
    figures = {}
    for name, body in error_bomb_bodies().items():
        head = (
            f"POST /convert HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode()
        before = cpu_seconds(pid)
        size = 0
        for _ in range(repeat):
            with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
                sock.sendall(head + body)
                answer = b""
                while chunk := sock.recv(65536):
                    answer += chunk
            size = len(answer.partition(b"\r\n\r\n")[2])
            if not answer.startswith(b"HTTP/1.1 422"):
                raise RuntimeError(f"{name}: expected 422, got {answer[:40]!r}")
        cpu_ms = (cpu_seconds(pid) - before) / repeat * 1000
        figures[name] = {"body_bytes": len(body), "server_cpu_ms": cpu_ms, "answer_bytes": size}
    return figures


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m bench overload", description=__doc__)
    parser.add_argument("--seconds", type=int, default=10, help="measured seconds per level")
    parser.add_argument(
        "--levels", type=int, nargs="+", default=list(LEVELS), help="connections per level"
    )
    parser.add_argument("--bomb-repeat", type=int, default=20, help="requests per error bomb")
    parser.add_argument(
        "--url",
        help="measure a server already running (e.g. the image under docker run --cpus 0.5 "
        "--memory 128m) instead of starting one; with --pid for its memory and CPU",
    )
    parser.add_argument("--pid", type=int, help="host pid of the --url server (docker inspect)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    return parser.parse_args(argv)


def measure(
    args: argparse.Namespace, base: str, port: int, pid: int
) -> tuple[list[dict[str, float]], dict[str, dict[str, float]]]:
    """Warm up, then every level, then the error bombs; prints a line per level."""
    url = base + "/convert?fahrenheit=98.6"
    subprocess.run(pinned([1], ["wrk", "-t1", "-c32", "-d3s", url]), check=True,
                   capture_output=True)  # warm-up  # fmt: skip
    print(
        f"{'conns':>6} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'503 %':>7} {'errors':>7} "
        f"{'slowest probe ms':>17} {'failed':>7} {'peak RSS MiB':>13}"
    )
    levels = []
    for connections in args.levels:
        level = run_level(url, port, pid, connections, args.seconds)
        levels.append(level)
        print(
            f"{connections:>6} {level['requests_per_s']:>9,.0f} {level['p50_ms']:>8.1f} "
            f"{level['p99_ms']:>8.1f} {level['shed_share'] * 100:>7.1f} "
            f"{level['socket_errors']:>7.0f} {level['slowest_probe_ms']:>17.1f} "
            f"{level['failed_probes']:>7.0f} {level['peak_rss_mib']:>13.1f}",
            flush=True,
        )
    return levels, error_bombs(port, pid, args.bomb_repeat)


def main(argv: Sequence[str] | None = None) -> int:
    """Print one line per level, then the error-bomb figures."""
    args = parse_args(argv)
    for tool in ("wrk", "ss"):
        if shutil.which(tool) is None:
            print(f"overload: {tool} not found; apt-get install wrk iproute2")
            return 2
    if args.url:
        if args.pid is None:
            print("overload: --url needs --pid (docker inspect -f '{{.State.Pid}}' NAME)")
            return 2
        port = int(args.url.rsplit(":", 1)[1].split("/")[0])
        levels, bombs = measure(args, args.url.rstrip("/"), port, args.pid)
    else:
        port = free_port()
        command = [sys.executable, "-m", "app", "--port", str(port), "--shutdown-delay", "0"]
        with serve(command, "/readyz", port) as server:
            levels, bombs = measure(args, server.base, port, _server_pid(port))
    print()
    for name, figures in bombs.items():
        print(
            f"error bomb {name:<26} {figures['body_bytes'] / 1000:>6.0f} KB body → 422 of "
            f"{figures['answer_bytes']:>5.0f} B, {figures['server_cpu_ms']:>6.1f} ms server CPU"
        )
    if args.json:
        args.json.write_text(json.dumps({"levels": levels, "error_bombs": bombs}, indent=2) + "\n")
    return 0
