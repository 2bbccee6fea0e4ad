"""A CPU allotment for a local server: a transient cgroup with a CFS quota, and its throttling.

Why: `make bench` runs Locust beside the server on one machine, and on two cores Locust
saturates before the server does, so the headline is a lower bound. Held to a CFS quota small
enough that the generator on the remaining cores saturates it (default_cpus), the server
becomes the bottleneck, and the quota's counters (cpu.stat) say how often it was throttled.

    with Allotment(0.25) as allotment:   # 10 ms periods (DEFAULT_PERIOD_US says why)
        server = subprocess.Popen([...])
        allotment.add(server.pid)   # what it forks from now on is born inside
        before = allotment.sample()
        ...                         # load it
        interval = allotment.sample().since(before)   # cpus_used, throttled_ratio, …

Kernel interfaces, in the order they are tried:
- cgroup v2, where a v2 hierarchy offers the cpu controller and is writable: `cpu.max`
  ("<quota> <period>"), `cpu.weight`, and `cpu.stat` (usage_usec, nr_periods, nr_throttled,
  throttled_usec).
- cgroup v1: `cpu.cfs_period_us`, `cpu.cfs_quota_us`, `cpu.shares` and `cpu.stat`
  (nr_periods, nr_throttled, throttled_time in ns) under the cpu controller, and
  `cpuacct.usage` (ns) under cpuacct, whether it shares the cpu mount or has its own
  (as on hybrid hosts whose unified hierarchy carries no cpu controller).

The quota caps; the weight reserves: the cgroup gets the highest weight (v1 shares 262144,
v2 weight 10000), so whenever it is runnable it gets its quota before anything else on a busy
machine, as a Guaranteed pod would on a node that is not overcommitted. It can never take
more than the quota, so nothing else starves (`reserve=False` leaves the default weight).

Clean-up: the cgroup is named celsiusify-bench-<owner pid>[-<n>] and removed on exit, after
its processes are moved back to the parent cgroup. In the main thread, SIGTERM and SIGINT
handlers remove it first and then do what the previous handler would have done; a run killed
with SIGKILL leaves its cgroup behind, and the next Allotment (or sweep_stale) removes every
such cgroup whose owner pid is gone. Without root or a writable hierarchy, entering raises
AllotmentUnavailable with a one-line reason.
"""

from __future__ import annotations

import csv
import itertools
import logging
import math
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType, TracebackType
from typing import TextIO

from bench.measure.cgroups import (
    PREFIX,
    V1_MAX_SHARES,
    V2_MAX_WEIGHT,
    AllotmentUnavailable,
    CpuSample,
    Hierarchy,
    locate,
    read,
    remove_cgroup,
    sample_from,
    sweep_stale,
    write,
)

# CFS bandwidth bounds (kernel/sched/core.c): periods from 1 ms to 1 s, quotas from 1 ms.
MIN_PERIOD_US, MAX_PERIOD_US, MIN_QUOTA_US = 1_000, 1_000_000, 1_000
# 10 ms, not the kernel's (and Docker's and the kubelet's) 100 ms: a server that uses its quota
# early stalls for the rest of the period, up to 75 ms of each 100 at 0.25 CPU, and that stall
# is the p99. Measured here (the app at 0.25 CPU, wrk -c8, 5 runs of 15 s each): p99 72 ms at
# 100 ms, 17 ms at 10 ms, 17 ms at 5 ms, where the 1.25 ms quota is under the kernel's 5 ms
# bandwidth slice and the app no longer gets its whole quota (0.238 CPU).
DEFAULT_PERIOD_US = 10_000

log = logging.getLogger(__name__)


# --- the allotment's size ------------------------------------------------------------------


def machine_cores() -> int:
    """The cores this process may run on (its affinity), which a generator can use."""
    return len(os.sched_getaffinity(0))


def validate_cpus(cpus: float, cores: int | None = None) -> float:
    """cpus itself when 0 < cpus <= the machine's cores (os.cpu_count()), else ValueError."""
    limit = cores if cores is not None else os.cpu_count() or 1
    number = isinstance(cpus, (int, float)) and not isinstance(cpus, bool)
    if not (number and math.isfinite(cpus) and 0 < cpus <= limit):
        raise ValueError(f"cpus must be more than 0 and at most {limit} (this machine's cores), "
                         f"not {cpus!r}")  # fmt: skip
    return float(cpus)


def validate_period(period_us: int) -> int:
    """period_us itself when the kernel accepts it as a CFS period (1 ms to 1 s)."""
    if (
        isinstance(period_us, bool)
        or not isinstance(period_us, int)
        or not (MIN_PERIOD_US <= period_us <= MAX_PERIOD_US)
    ):
        raise ValueError(f"period_us must be an integer from {MIN_PERIOD_US} to {MAX_PERIOD_US} "
                         f"(1 ms to 1 s), not {period_us!r}")  # fmt: skip
    return period_us


def quota_us(cpus: float, period_us: int) -> int:
    """The CFS quota of `cpus` per period; ValueError when under the kernel's 1 ms floor."""
    quota = round(cpus * period_us)
    if quota < MIN_QUOTA_US:
        raise ValueError(f"{cpus} CPU of a {period_us} us period is a {quota} us quota, under the "
                         f"kernel's {MIN_QUOTA_US} us floor: use a longer period")  # fmt: skip
    return quota


def default_cpus(cores: int | None = None) -> float:
    """The allotment a generator on the remaining cores saturates: cores/8, in quarter CPUs.

    The rule: an eighth of the cores, rounded down to a quarter CPU and never under 0.25,
    then capped at cores/5 so the generator keeps (cores - allotment) >= 4 x the allotment
    (Locust needs several times the server's CPU to saturate it: on 2 cores it saturated the
    unbounded app with both cores shared). 1 core: 0.2; 2-3: 0.25; 4-5: 0.5; 6-7: 0.75;
    8: 1; 16: 2; 64: 8.
    """
    count = cores if cores is not None else machine_cores()
    if count < 1:
        raise ValueError(f"cores must be at least 1, not {count}")
    eighth = max(0.25, math.floor(count / 8 * 4) / 4)
    return min(eighth, count / 5)


def docker_cpu_args(cpus: float, period_us: int | None = None) -> list[str]:
    """`docker run` flags for the same allotment in a container.

    Without a period, `--cpus` (Docker's period is the kernel's 100 ms); with one,
    `--cpu-period` and `--cpu-quota`: Docker refuses both forms together.
    """
    validate_cpus(cpus)
    if period_us is None:
        return ["--cpus", f"{cpus:g}"]
    period = validate_period(period_us)
    return ["--cpu-period", str(period), "--cpu-quota", str(quota_us(cpus, period))]


def docker_update_args(container: str, cpus: float, period_us: int | None = None) -> list[str]:
    """`docker update` for a running container; use the form it was started with (with or
    without a period): Docker refuses to change a --cpus container by period and quota."""
    return ["docker", "update", *docker_cpu_args(cpus, period_us), container]


# --- the allotment ---------------------------------------------------------------------------

_Handler = Callable[[int, FrameType | None], object] | int | signal.Handlers | None
_COUNTER = itertools.count(1)


class Allotment:  # pylint: disable=too-many-instance-attributes
    """A transient cgroup holding `cpus` CPUs per `period_us`; a context manager.

    `version` insists on cgroup v1 or v2 (None: v2 when usable, else v1). `reserve` gives the
    cgroup the highest weight, so it gets its quota on a busy machine (see the module's text).
    """

    def __init__(
        self,
        cpus: float,
        period_us: int = DEFAULT_PERIOD_US,
        *,
        version: int | None = None,
        reserve: bool = True,
    ) -> None:
        self.cpus = validate_cpus(cpus)
        self.period_us = validate_period(period_us)
        self.quota_us = quota_us(self.cpus, self.period_us)
        self.version = version
        self.reserve = reserve
        self.hierarchy: Hierarchy | None = None
        self.directories: list[Path] = []
        self._previous: dict[int, _Handler] = {}
        # Re-entrant: a signal can arrive while this thread is in close().
        self._lock = threading.RLock()

    @property
    def path(self) -> Path:
        """The cgroup's directory under the cpu controller (v2: its only one)."""
        if not self.directories:
            raise RuntimeError("the allotment is not active: use it in a `with` block")
        return self.directories[0]

    def __enter__(self) -> Allotment:
        hierarchy = locate(self.version)
        sweep_stale(hierarchy)
        name = f"{PREFIX}{os.getpid()}-{next(_COUNTER)}"
        try:
            for parent in hierarchy.parents:
                (parent / name).mkdir()
                self.directories.append(parent / name)
            self.hierarchy = hierarchy
            self._limit(hierarchy)
        except OSError as error:
            self.close()
            raise AllotmentUnavailable(
                f"cannot make cgroup {name} under {hierarchy.cpu}: {error.strerror or error}"
            ) from error
        self._install_handlers()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _limit(self, hierarchy: Hierarchy) -> None:
        if hierarchy.version == 2:
            if "cpu" not in read(hierarchy.cpu / "cgroup.subtree_control").split():
                write(hierarchy.cpu / "cgroup.subtree_control", "+cpu")  # EBUSY: has processes
            write(self.path / "cpu.max", f"{self.quota_us} {self.period_us}")
            if self.reserve:
                write(self.path / "cpu.weight", str(V2_MAX_WEIGHT))
            return
        # Period first: a quota is checked against the period in force.
        write(self.path / "cpu.cfs_period_us", str(self.period_us))
        write(self.path / "cpu.cfs_quota_us", str(self.quota_us))
        if self.reserve:
            write(self.path / "cpu.shares", str(V1_MAX_SHARES))

    def add(self, pid: int) -> None:
        """Move a process (all its threads) in; processes it forks afterwards are born inside."""
        if not self.directories:
            raise RuntimeError("the allotment is not active: use it in a `with` block")
        for directory in self.directories:
            write(directory / "cgroup.procs", str(pid))

    def pids(self) -> list[int]:
        """The processes inside now."""
        return [int(pid) for pid in read(self.path / "cgroup.procs").split()]

    def sample(self) -> CpuSample:
        """The counters now: usage, periods, throttled periods and time."""
        at = time.monotonic()
        cpu_stat = read(self.path / "cpu.stat")
        usage_text = None
        if self.hierarchy is not None and self.hierarchy.version == 1 and self.hierarchy.cpuacct:
            usage_text = read(self.directories[-1] / "cpuacct.usage")
        version = self.hierarchy.version if self.hierarchy else 1
        return sample_from(version, cpu_stat, usage_text, at)

    def close(self) -> None:
        """Move the processes back to the parent and remove the cgroup; safe to call twice."""
        with self._lock:
            directories, self.directories = self.directories, []
            for directory in reversed(directories):
                try:
                    remove_cgroup(directory)
                except OSError as error:
                    log.warning("could not remove cgroup %s: %s", directory, error)
            self._restore_handlers()

    # Signals: remove the cgroup, then behave as before (KeyboardInterrupt, or death by the
    # signal). Handlers can only be set from the main thread; elsewhere only `with` cleans up.
    def _install_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in (signal.SIGTERM, signal.SIGINT):
            self._previous[signum] = signal.signal(signum, self._on_signal)

    def _restore_handlers(self) -> None:
        previous, self._previous = self._previous, {}
        for signum, handler in previous.items():
            if handler is not None:  # None: set outside Python, cannot be put back
                signal.signal(signum, handler)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        previous = self._previous.get(signum, signal.SIG_DFL)
        if previous == signal.SIG_IGN:
            return
        self.close()
        if callable(previous):
            previous(signum, frame)
            return
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


# --- one row per second ----------------------------------------------------------------------

SAMPLE_FIELDS = ("elapsed_s", "usage_usec", "nr_periods", "nr_throttled", "throttled_usec")


class Sampler:
    """A thread writing the allotment's counters to a CSV, one row per `interval` seconds.

    Columns (SAMPLE_FIELDS) are cumulative since the first row, so a reader takes
    differences; the last row is written on exit.
    """

    def __init__(self, allotment: Allotment, path: Path, interval: float = 1.0) -> None:
        self.allotment = allotment
        self.path = path
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="allotment-sampler", daemon=True)
        self._first: CpuSample | None = None

    def __enter__(self) -> Sampler:
        self._first = self.allotment.sample()
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()

    def _row(self, writer: csv.DictWriter[str], first: CpuSample) -> bool:
        try:
            interval = self.allotment.sample().since(first)
        except (OSError, RuntimeError):  # the cgroup is gone (a signal removed it)
            return False
        writer.writerow({
            "elapsed_s": f"{interval.seconds:.3f}", "usage_usec": interval.usage_usec,
            "nr_periods": interval.periods, "nr_throttled": interval.throttled_periods,
            "throttled_usec": interval.throttled_usec,
        })  # fmt: skip
        return True

    def _run(self) -> None:
        first = self._first or self.allotment.sample()
        with self.path.open("w", newline="", encoding="utf-8") as stream:
            writer = _writer(stream)
            running = self._row(writer, first)
            while running and not self._stop.wait(self.interval):
                running = self._row(writer, first)
                stream.flush()
            if running:
                self._row(writer, first)


def _writer(stream: TextIO) -> csv.DictWriter[str]:
    writer = csv.DictWriter(stream, fieldnames=SAMPLE_FIELDS)
    writer.writeheader()
    return writer
