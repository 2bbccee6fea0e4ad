"""`python -m bench perf`: the real app against a bare Starlette app, side by side (make perf).

Each server is one process pinned to CPU 0; wrk runs pinned to CPU 1 with 32
connections. Rounds alternate between the two servers so drift on the machine
hits both; the printed figure per server is the median of its rounds, with the
spread (lowest and highest round) beside it, and the ratio is the median of the
per-round ratios. A 1000-value batch POST is then measured in conversions per
second.

Wall-clock figures on a shared machine swing by ±15 %, so the guard that
repeats is the second one: instructions per GET /convert of each server,
counted by valgrind's callgrind over a fixed number of requests after a warm-up
(bench/measure/callgrind.py). Their ratio moves by well under 1 % between runs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.measure import callgrind
from bench.measure.procs import free_port, pinned, serve
from targets import ROOT

GOAL_RATIO = 0.85
_RATE = re.compile(r"Requests/sec:\s+([0-9.]+)")
_BATCH_SIZE = 1000
_WRK_POST_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '%s'
"""


def wrk(url: str, seconds: int, connections: int, script: str | None = None) -> float:
    """Requests per second reported by one wrk run from CPU 1."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", url]
    if script:
        command[1:1] = ["-s", script]
    output = subprocess.run(pinned([1], command), check=True, capture_output=True, text=True).stdout
    match = _RATE.search(output)
    if match is None:
        raise RuntimeError(f"could not read wrk output:\n{output}")
    if "Non-2xx" in output:
        raise RuntimeError(f"wrk saw non-2xx answers:\n{output}")
    return float(match.group(1))


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m bench perf", description=__doc__)
    parser.add_argument("--seconds", type=int, default=8, help="measured seconds per round")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up seconds per server")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds per server")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--instructions",
        type=int,
        default=2000,
        help="requests counted under callgrind per server (0 skips the count)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    return parser.parse_args(argv)


def server_commands(app_port: int, base_port: int) -> dict[str, list[str]]:
    """The two servers compared: the real app and the bare Starlette yardstick."""
    return {
        "celsiusify": [
            sys.executable, "-m", "app", "--port", str(app_port), "--shutdown-delay", "0",
        ],
        "starlette": [
            sys.executable, "-m", "uvicorn", "bench.measure.baseline_app:app",
            "--port", str(base_port), "--loop", "uvloop", "--http", "httptools",
            "--no-access-log", "--log-level", "warning",
        ],
    }  # fmt: skip


_QUERY = "/convert?fahrenheit=98.6"


def measure(args: argparse.Namespace) -> dict[str, list[float]]:
    """Interleaved GET rounds for both servers, then the batch POST on the app."""
    app_port, base_port = free_port(), free_port()
    commands = server_commands(app_port, base_port)
    rates: dict[str, list[float]] = {"celsiusify": [], "starlette": []}
    with (
        serve(commands["celsiusify"], "/readyz", app_port) as app,
        serve(commands["starlette"], _QUERY, base_port) as baseline,
    ):
        app_url, base_url = app.base, baseline.base
        urls = {"celsiusify": app_url + _QUERY, "starlette": base_url + _QUERY}
        for url in urls.values():
            wrk(url, args.warmup, args.connections)
        for round_number in range(1, args.rounds + 1):
            for name, url in urls.items():
                rates[name].append(wrk(url, args.seconds, args.connections))
                print(
                    f"round {round_number}: {name:<10} {rates[name][-1]:>10,.0f} req/s", flush=True
                )
        rates["batch"] = [measure_batch(app_url + "/convert", args)]
    return rates


def count_instructions(count: int) -> dict[str, float]:
    """Instructions per GET /convert of each server under callgrind (not pinned)."""
    app_port, base_port = free_port(), free_port()
    commands = server_commands(app_port, base_port)
    ports = {"celsiusify": app_port, "starlette": base_port}
    figures: dict[str, float] = {}
    for name, command in commands.items():
        figures[name] = callgrind.instructions_per_request(
            command, ports[name], _QUERY, count=count, cwd=ROOT
        )
        print(f"callgrind: {name:<10} {figures[name]:>10,.0f} instructions/request", flush=True)
    return figures


def spread(values: Sequence[float]) -> str:
    """'median (min–max, ±x %)' of a list of rates."""
    median = statistics.median(values)
    half_range = (max(values) - min(values)) / 2 / median * 100
    rounds = f"rounds {min(values):,.0f}–{max(values):,.0f}, ±{half_range:.0f} %"
    return f"{median:>10,.0f} req/s (median; {rounds})"


def measure_batch(url: str, args: argparse.Namespace) -> float:
    """Requests per second of POST /convert carrying _BATCH_SIZE values."""
    values = [round(-400 + i * 1.37, 2) for i in range(_BATCH_SIZE)]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_WRK_POST_SCRIPT % json.dumps({"fahrenheit": values}))
    try:
        wrk(url, args.warmup, args.connections, script.name)
        return wrk(url, args.seconds, args.connections, script.name)
    finally:
        os.unlink(script.name)


def main(argv: Sequence[str] | None = None) -> int:
    """Print both rates, their ratio and the batch rate; 1 if the ratio misses the goal."""
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        print("perf: wrk not found; install Debian's wrk package (apt-get install wrk)")
        return 2
    if args.instructions and not callgrind.available():
        print("perf: valgrind not found; apt-get install valgrind, or pass --instructions 0")
        return 2
    rates = measure(args)
    round_ratios = [
        app / base for app, base in zip(rates["celsiusify"], rates["starlette"], strict=True)
    ]
    ratio = statistics.median(round_ratios)
    batch = rates["batch"][0]
    conversions = batch * _BATCH_SIZE
    instructions = count_instructions(args.instructions) if args.instructions else {}
    print()
    print(f"GET /convert  celsiusify (metrics on): {spread(rates['celsiusify'])}")
    print(f"GET /convert  bare Starlette:          {spread(rates['starlette'])}")
    print(f"ratio: {ratio:.3f} (median of {len(round_ratios)} paired rounds, "
          f"{min(round_ratios):.3f}–{max(round_ratios):.3f}; goal >= {GOAL_RATIO})")  # fmt: skip
    print(f"POST /convert, {_BATCH_SIZE} values: {batch:,.1f} req/s = "
          f"{conversions:,.0f} conversions/s")  # fmt: skip
    instruction_ratio = None
    if instructions:
        instruction_ratio = instructions["starlette"] / instructions["celsiusify"]
        print(f"instructions per GET /convert: celsiusify {instructions['celsiusify']:,.0f}, "
              f"bare Starlette {instructions['starlette']:,.0f}; "
              f"ratio (Starlette / celsiusify) {instruction_ratio:.3f}")  # fmt: skip
    if args.json:
        figures = {
            "celsiusify_get_rps": round(statistics.median(rates["celsiusify"])),
            "celsiusify_get_rps_rounds": [round(rate) for rate in rates["celsiusify"]],
            "starlette_get_rps": round(statistics.median(rates["starlette"])),
            "starlette_get_rps_rounds": [round(rate) for rate in rates["starlette"]],
            "ratio": round(ratio, 3),
            "goal_ratio": GOAL_RATIO,
            "batch_size": _BATCH_SIZE,
            "batch_requests_per_s": round(batch, 1),
            "batch_conversions_per_s": round(conversions),
            "instructions_per_request": {name: round(n) for name, n in instructions.items()},
            "instruction_ratio": round(instruction_ratio, 4) if instruction_ratio else None,
        }
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if ratio >= GOAL_RATIO else 1
