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
import errno
import itertools
import logging
import math
import os
import re
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, TracebackType
from typing import TextIO

PREFIX = "celsiusify-bench-"
NAME = re.compile(rf"^{re.escape(PREFIX)}(?P<pid>\d+)(?:-\d+)?$")
# CFS bandwidth bounds (kernel/sched/core.c): periods from 1 ms to 1 s, quotas from 1 ms.
MIN_PERIOD_US, MAX_PERIOD_US, MIN_QUOTA_US = 1_000, 1_000_000, 1_000
# 10 ms, not the kernel's (and Docker's and the kubelet's) 100 ms: a server that uses its quota
# early stalls for the rest of the period, up to 75 ms of each 100 at 0.25 CPU, and that stall
# is the p99. Measured here (the app at 0.25 CPU, wrk -c8, 5 runs of 15 s each): p99 72 ms at
# 100 ms, 17 ms at 10 ms, 17 ms at 5 ms, where the 1.25 ms quota is under the kernel's 5 ms
# bandwidth slice and the app no longer gets its whole quota (0.238 CPU).
DEFAULT_PERIOD_US = 10_000
# The highest weights each version accepts (v1 MAX_SHARES on 64-bit, v2 CGROUP_WEIGHT_MAX).
V1_MAX_SHARES, V2_MAX_WEIGHT = 262_144, 10_000
MOUNTS, OWN_CGROUP = Path("/proc/self/mounts"), Path("/proc/self/cgroup")

log = logging.getLogger(__name__)


class AllotmentUnavailable(RuntimeError):
    """No cgroup can be made here; `reason` is one line saying why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _write(path: Path, value: object) -> None:
    # One write per value: a cgroup file takes one value per write(2).
    path.write_text(str(value), encoding="utf-8")


# --- where cgroups can be made ---------------------------------------------------------------


@dataclass(frozen=True)
class Mount:
    """A cgroup hierarchy's mount: version 1 with its controllers, or version 2."""

    path: Path
    version: int
    controllers: frozenset[str]


def parse_mounts(text: str) -> list[Mount]:
    """The cgroup mounts of /proc/self/mounts (v1 controllers come from the mount options)."""
    mounts = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[2] == "cgroup2":
            mounts.append(Mount(Path(fields[1]), 2, frozenset()))
        elif len(fields) >= 4 and fields[2] == "cgroup":
            mounts.append(Mount(Path(fields[1]), 1, frozenset(fields[3].split(","))))
    return mounts


def parse_own_cgroups(text: str) -> dict[str, str]:
    """This process's cgroup per v1 controller, and per "" for the v2 hierarchy."""
    own: dict[str, str] = {}
    for line in text.splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            own[controller] = path
    return own


@dataclass(frozen=True)
class Hierarchy:
    """Where transient cgroups go: `cpu` (and, on v1, `cpuacct`, None when not mounted).

    v1: the directory of this process's own cgroup, so a quota above it still applies.
    v2: the hierarchy's root (see _v2_hierarchy)."""

    version: int
    cpu: Path
    cpuacct: Path | None = None

    @property
    def parents(self) -> list[Path]:
        """Every directory a transient cgroup is made in (one per hierarchy)."""
        extra = [self.cpuacct] if self.cpuacct is not None and self.cpuacct != self.cpu else []
        return [self.cpu, *extra]


def _own_dir(mount: Mount, own: dict[str, str], controller: str) -> Path:
    # In a container without its own cgroup namespace, /proc/self/cgroup names a host path
    # that is not under the mount: the mount's root is then this container's cgroup.
    directory = mount.path / own.get(controller, "/").lstrip("/")
    return directory if directory.is_dir() else mount.path


def _writable(directory: Path) -> str | None:
    if os.access(directory, os.W_OK):
        return None
    return f"{directory} is not writable by uid {os.getuid()} (run as root or delegate it)"


def _v2_hierarchy(mounts: list[Mount], _own: dict[str, str]) -> Hierarchy | str:
    unified = [mount for mount in mounts if mount.version == 2]
    if not unified:
        return "no cgroup v2 hierarchy is mounted"
    # At the root, not beside this process: v2 lets a cgroup that holds processes (the leaf a
    # login session or service runs in) give no controller to its children; the root is exempt.
    parent = unified[0].path
    try:
        controllers = _read(parent / "cgroup.controllers").split()
    except OSError as error:
        return f"cgroup v2 at {unified[0].path}: {error.strerror}"
    if "cpu" not in controllers:
        offered = " ".join(controllers) or "none"
        return f"cgroup v2 at {unified[0].path} lacks the cpu controller (offers: {offered})"
    return _writable(parent) or Hierarchy(2, parent)


def _v1_hierarchy(mounts: list[Mount], own: dict[str, str]) -> Hierarchy | str:
    cpu = [mount for mount in mounts if mount.version == 1 and "cpu" in mount.controllers]
    if not cpu:
        return "no cgroup v1 hierarchy carries the cpu controller"
    parent = _own_dir(cpu[0], own, "cpu")
    if not (parent / "cpu.cfs_quota_us").exists():
        return f"cgroup v1 at {cpu[0].path} has no cpu.cfs_quota_us (kernel without CFS bandwidth)"
    accounting = [mount for mount in mounts
                  if mount.version == 1 and "cpuacct" in mount.controllers]  # fmt: skip
    cpuacct = _own_dir(accounting[0], own, "cpuacct") if accounting else None
    for directory in [parent, cpuacct]:
        if directory is not None and (problem := _writable(directory)):
            return problem
    return Hierarchy(1, parent, cpuacct)


def locate(version: int | None = None) -> Hierarchy:
    """The hierarchy to use: v2 when it has the cpu controller and is writable, else v1;
    `version` insists on one. AllotmentUnavailable says why neither (or that one) is usable."""
    if version not in (None, 1, 2):
        raise ValueError(f"version must be 1, 2 or None, not {version!r}")
    try:
        mounts = parse_mounts(_read(MOUNTS))
        own = parse_own_cgroups(_read(OWN_CGROUP))
    except OSError as error:
        raise AllotmentUnavailable(f"cannot read the cgroup mounts: {error}") from error
    reasons = []
    for candidate, find in ((2, _v2_hierarchy), (1, _v1_hierarchy)):
        if version in (None, candidate):
            found = find(mounts, own)
            if isinstance(found, Hierarchy):
                return found
            reasons.append(found)
    raise AllotmentUnavailable("; ".join(reasons))


# --- cgroup files ----------------------------------------------------------------------------


def parse_cpu_stat(text: str) -> dict[str, int]:
    """cpu.stat's "key value" lines."""
    return {key: int(value) for key, value in (line.split() for line in text.splitlines() if line)}


@dataclass(frozen=True)
class CpuSample:
    """The cgroup's counters at one moment, cumulative since it was made (times in us)."""

    monotonic: float
    usage_usec: int | None  # None on v1 without a cpuacct hierarchy
    nr_periods: int
    nr_throttled: int
    throttled_usec: int

    def since(self, earlier: CpuSample) -> CpuInterval:
        """What happened between an earlier sample and this one."""
        usage = (None if self.usage_usec is None or earlier.usage_usec is None
                 else self.usage_usec - earlier.usage_usec)  # fmt: skip
        return CpuInterval(
            seconds=self.monotonic - earlier.monotonic,
            usage_usec=usage,
            periods=self.nr_periods - earlier.nr_periods,
            throttled_periods=self.nr_throttled - earlier.nr_throttled,
            throttled_usec=self.throttled_usec - earlier.throttled_usec,
        )


@dataclass(frozen=True)
class CpuInterval:
    """The difference of two samples."""

    seconds: float
    usage_usec: int | None
    periods: int
    throttled_periods: int
    throttled_usec: int

    @property
    def cpus_used(self) -> float | None:
        """Average CPUs the cgroup used over the interval."""
        if self.usage_usec is None or self.seconds <= 0:
            return None
        return self.usage_usec / 1e6 / self.seconds

    @property
    def throttled_ratio(self) -> float:
        """Share of the periods in which the cgroup ran out of quota (0 when idle)."""
        return self.throttled_periods / self.periods if self.periods else 0.0


def sample_from(version: int, cpu_stat: str, usage_text: str | None, at: float) -> CpuSample:
    """A sample from the files' text: cpu.stat, and cpuacct.usage (v1; v2 reads cpu.stat)."""
    stat = parse_cpu_stat(cpu_stat)
    if version == 2:
        usage: int | None = stat["usage_usec"]
        throttled = stat["throttled_usec"]
    else:
        usage = int(usage_text) // 1000 if usage_text is not None else None
        throttled = stat["throttled_time"] // 1000
    return CpuSample(at, usage, stat["nr_periods"], stat["nr_throttled"], throttled)


def _move_all(source: Path, destination: Path, attempts: int = 100) -> None:
    """Move every process of `source` to `destination`, again while forks race the move."""
    for _ in range(attempts):
        pids = _read(source / "cgroup.procs").split()
        if not pids:
            return
        for pid in pids:
            try:
                _write(destination / "cgroup.procs", pid)
            except ProcessLookupError:  # exited since it was listed
                continue
        time.sleep(0.01)
    raise OSError(errno.EBUSY, f"processes keep appearing in {source}")


def remove_cgroup(directory: Path, attempts: int = 50) -> None:
    """Move its processes to the parent, then rmdir (retried while the kernel is busy)."""
    if not directory.is_dir():
        return
    _move_all(directory, directory.parent)
    for attempt in range(attempts):
        try:
            directory.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError as error:
            if error.errno != errno.EBUSY or attempt == attempts - 1:
                raise
            time.sleep(0.02)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale(hierarchy: Hierarchy | None = None) -> list[Path]:
    """Remove the transient cgroups of dead owners (a run killed by SIGKILL); the removed paths."""
    found = hierarchy or locate()
    removed = []
    for parent in found.parents:
        for directory in sorted(parent.glob(f"{PREFIX}*")):
            match = NAME.match(directory.name)
            if match and directory.is_dir() and not _alive(int(match["pid"])):
                remove_cgroup(directory)
                removed.append(directory)
    return removed


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
            if "cpu" not in _read(hierarchy.cpu / "cgroup.subtree_control").split():
                _write(hierarchy.cpu / "cgroup.subtree_control", "+cpu")  # EBUSY: has processes
            _write(self.path / "cpu.max", f"{self.quota_us} {self.period_us}")
            if self.reserve:
                _write(self.path / "cpu.weight", str(V2_MAX_WEIGHT))
            return
        # Period first: a quota is checked against the period in force.
        _write(self.path / "cpu.cfs_period_us", str(self.period_us))
        _write(self.path / "cpu.cfs_quota_us", str(self.quota_us))
        if self.reserve:
            _write(self.path / "cpu.shares", str(V1_MAX_SHARES))

    def add(self, pid: int) -> None:
        """Move a process (all its threads) in; processes it forks afterwards are born inside."""
        if not self.directories:
            raise RuntimeError("the allotment is not active: use it in a `with` block")
        for directory in self.directories:
            _write(directory / "cgroup.procs", str(pid))

    def pids(self) -> list[int]:
        """The processes inside now."""
        return [int(pid) for pid in _read(self.path / "cgroup.procs").split()]

    def sample(self) -> CpuSample:
        """The counters now: usage, periods, throttled periods and time."""
        at = time.monotonic()
        cpu_stat = _read(self.path / "cpu.stat")
        usage_text = None
        if self.hierarchy is not None and self.hierarchy.version == 1 and self.hierarchy.cpuacct:
            usage_text = _read(self.directories[-1] / "cpuacct.usage")
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
