"""cgroup v1 and v2 for bench/measure/allotment.py: find a writable hierarchy, read cpu.stat,
move processes, and remove a run's cgroup (also those left by runs that were killed)."""

from __future__ import annotations

import errno
import logging
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

PREFIX = "celsiusify-bench-"
NAME = re.compile(rf"^{re.escape(PREFIX)}(?P<pid>\d+)(?:-\d+)?$")
# The highest weights each version accepts (v1 MAX_SHARES on 64-bit, v2 CGROUP_WEIGHT_MAX).
V1_MAX_SHARES, V2_MAX_WEIGHT = 262_144, 10_000
MOUNTS, OWN_CGROUP = Path("/proc/self/mounts"), Path("/proc/self/cgroup")

log = logging.getLogger(__name__)


class AllotmentUnavailable(RuntimeError):
    """No cgroup can be made here; `reason` is one line saying why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def read(path: Path) -> str:
    """A cgroup or proc file's text."""
    return path.read_text(encoding="utf-8")


def write(path: Path, value: object) -> None:
    """One value into a cgroup file: it takes one value per write(2)."""
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
        controllers = read(parent / "cgroup.controllers").split()
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
        mounts = parse_mounts(read(MOUNTS))
        own = parse_own_cgroups(read(OWN_CGROUP))
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
        pids = read(source / "cgroup.procs").split()
        if not pids:
            return
        for pid in pids:
            try:
                write(destination / "cgroup.procs", pid)
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
