"""The load of a measurement: Locust headless with the step shape on the generator's cores,
and, each second, the CPU of the generator and the server and the server's quota counters.

The generator runs in a cgroup with the highest weight and no quota (hold.reserve_generator),
so on a machine shared with other work it gets its cores when it needs them, and its measured
CPU says whether it was the limit. Progress prints every 5 s; an interruption stops Locust.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil

import targets
from bench.analyse.capacity import CpuSample
from bench.measure import hold
from bench.measure.cgroups import CpuSample as Counters
from bench.measure.procs import pinned
from bench.results import Throttling, history_path, last_history_row, locust_html_path

LOCUSTFILE = targets.ROOT / "locust" / "main.py"


def tree_cpu_percent(process: psutil.Process) -> float:
    """CPU percent (of one core) of a process and its children since the last call."""
    total = 0.0
    for member in [process, *process.children(recursive=True)]:
        try:
            total += member.cpu_percent(None)
        except psutil.Error:
            continue
    return total


class CpuRecorder:
    """Each second: the generator's and the server's CPU (from the quota's usage when it is
    held, else psutil), and the quota's counters for throttling.csv."""

    def __init__(self, generator: psutil.Process, server: psutil.Process | None,
                 held: hold.Held) -> None:  # fmt: skip
        self.generator, self.server, self.held = generator, server, held
        self.samples: list[CpuSample] = []
        self.throttling: list[Throttling] = []
        self.first = self.last = held.sample()
        tree_cpu_percent(generator)
        if server:
            tree_cpu_percent(server)

    def record(self) -> CpuSample:
        """One sample now (psutil.Error when the generator is gone)."""
        load = tree_cpu_percent(self.generator)
        server = tree_cpu_percent(self.server) if self.server else None
        now, counters = time.time(), self.held.sample()
        if counters is not None and self.first is not None and self.last is not None:
            used = self._from_counters(now, counters, self.first, self.last)
            server = server if used is None else used  # the quota's own count when it has one
            self.last = counters
        self.samples.append(CpuSample(now, load, server))
        return self.samples[-1]

    def throttled_last(self) -> float | None:
        """The share of the quota's periods throttled over the last second (None: no quota)."""
        if len(self.throttling) < 2:
            return None
        now, before = self.throttling[-1], self.throttling[-2]
        periods = now.nr_periods - before.nr_periods
        return (now.nr_throttled - before.nr_throttled) / periods if periods else 0.0

    def _from_counters(self, now: float, counters: Counters, first: Counters,
                       last: Counters) -> float | None:  # fmt: skip
        total = counters.since(first)
        self.throttling.append(Throttling(
            now, round(total.seconds, 3), total.usage_usec, total.periods,
            total.throttled_periods, total.throttled_usec,
        ))  # fmt: skip
        used = counters.since(last).cpus_used
        return None if used is None else used * 100


def run_locust(
    args: argparse.Namespace, url: str, prefix: Path, cores: list[int] | None,
    server: psutil.Process | None, held: hold.Held,
) -> tuple[int, CpuRecorder, list[str], bool]:  # fmt: skip
    """Run Locust headless with the step shape; sample CPU each second; print progress.
    Returns its exit code, the recordings, its output and whether it had its cores reserved
    (hold.reserve_generator). Locust is stopped if this is interrupted (Ctrl-C, SIGTERM)."""
    env = {
        **os.environ,
        "LOAD_SHAPE": "step",
        "LOAD_TARGET": targets.target_of_user(args.user),
        "STEP_START_USERS": str(args.start_users),
        "STEP_USERS": str(args.step_users),
        "STEP_SECONDS": str(args.step_seconds),
        "STEP_MAX_USERS": str(args.max_users),
    }
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", url,
        "--csv", str(prefix), "--only-summary", "--logfile", str(prefix.parent / "locust.log"),
        "--html", str(locust_html_path(prefix.parent, prefix.name)), args.user,
    ]  # fmt: skip
    if cores and len(cores) > 1:
        command[3:3] = ["--processes", str(len(cores))]
    command = pinned(cores, command)
    history = history_path(prefix.parent, prefix.name)
    with subprocess.Popen(
        command, cwd=targets.ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    ) as locust:  # fmt: skip
        try:
            with hold.reserve_generator(os.cpu_count() or 1) as reservation:
                if reservation is not None:
                    reservation.add(locust.pid)  # its --processes workers are forked inside
                recorder = CpuRecorder(psutil.Process(locust.pid), server, held)
                _follow(locust, recorder, history)
            output = locust.stdout.read() if locust.stdout else ""
            return locust.wait(), recorder, output.splitlines(), reservation is not None
        finally:
            _stop(locust)


def _stop(locust: subprocess.Popen[str]) -> None:
    if locust.poll() is not None:
        return
    locust.terminate()
    try:
        locust.wait(timeout=15)
    except subprocess.TimeoutExpired:
        locust.kill()
        locust.wait()


def _follow(locust: subprocess.Popen[str], recorder: CpuRecorder, history: Path) -> None:
    started = time.monotonic()
    while locust.poll() is None:
        time.sleep(1.0)
        try:
            sample = recorder.record()
        except psutil.Error:
            break
        elapsed = time.monotonic() - started
        if int(elapsed) % 5 == 0 and (row := last_history_row(history)):
            server = f" server cpu={sample.server_percent:5.1f}%" if sample.server_percent else ""
            share = recorder.throttled_last()
            throttled = "" if share is None else f" throttled={share:4.0%}"
            print(
                f"[{elapsed:5.0f}s] users={row['User Count']:>4} "
                f"rps={float(row['Requests/s']):8.1f} p99={row['99%']:>5} ms "
                f"failures={row['Total Failure Count']} loadgen cpu={sample.loadgen_percent:5.1f}%"
                f"{server}{throttled}",
                flush=True,
            )
