"""How `bench run` holds the server's CPU: the same allotment for every serving stack.

The server gets `cpus` CPUs per CFS period (default: allotment.default_cpus(), the size a
generator on the remaining cores saturates; the period: allotment.DEFAULT_PERIOD_US, or
Kubernetes' 100 ms with `--cpu-period 100ms`), held one of three ways:

- a process (the app `bench run` starts, or an external server's --pid): a transient cgroup
  with that quota (allotment.Allotment), its counters read from the cgroup;
- a container (--container, or TF Serving started by the bench): Docker's own quota
  (`docker run`/`docker update` with the same period and quota), its counters read from the
  container's cgroup;
- nothing, where no cgroup can be made (no root, no writable hierarchy): one line says why,
  the server keeps today's pinned core, and the figure is marked a lower bound, because on a
  small machine the load generator saturates before a whole core does.

The load generator, on the cores the server does not use, gets the highest cgroup weight and
no quota (reserve_generator): on a machine shared with other work it then gets its cores
whenever it is runnable, so its measured CPU says whether it, not the server, was the limit.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from shutil import which
from typing import Any

from bench.measure.allotment import (
    Allotment,
    default_cpus,
    docker_update_args,
    quota_us,
    validate_cpus,
    validate_period,
)
from bench.measure.cgroups import (
    MOUNTS,
    AllotmentUnavailable,
    CpuSample,
    locate,
    parse_mounts,
    parse_own_cgroups,
    read,
    sample_from,
    write,
)

# Kubernetes' (and Docker's, and the kernel's) CFS period, which `--cpu-period 100ms` reproduces.
KUBERNETES_PERIOD_US = 100_000
PERIOD = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*(us|µs|ms)?\s*$")


def parse_period(text: str) -> int:
    """--cpu-period in microseconds: '10ms', '100ms', '10000us', or a bare number of µs."""
    match = PERIOD.match(text)
    if not match:
        raise ValueError(f"--cpu-period {text!r}: give microseconds or milliseconds, "
                         "e.g. 10ms, 100ms (Kubernetes') or 10000us")  # fmt: skip
    value = float(match[1]) * (1000 if match[2] == "ms" else 1)
    if not value.is_integer():
        raise ValueError(f"--cpu-period {text!r} is not a whole number of microseconds")
    return validate_period(int(value))


def allotment_size(cpus: float | None, period_us: int) -> float:
    """The run's CPUs: default_cpus() when not given. ValueError in one line naming the flag
    when cpus is not in (0, cores] or its quota is under the kernel's floor for the period."""
    try:
        chosen = default_cpus() if cpus is None else validate_cpus(cpus)
    except ValueError as error:
        raise ValueError(f"--server-cpus: {error}") from None
    try:
        quota_us(chosen, period_us)
    except ValueError as error:
        raise ValueError(f"--cpu-period: {error}") from None
    return chosen


# --- counters of a cgroup that is not ours ---------------------------------------------------


def counters_of(pid: int) -> tuple[int, Callable[[], CpuSample]]:
    """The cgroup version and a reader of the counters of the cgroup a process is in (a
    container's, Docker's quota). OSError when it cannot be found or has no CFS counters."""
    mounts = parse_mounts(read(MOUNTS))
    own = parse_own_cgroups(read(Path(f"/proc/{pid}/cgroup")))
    found = {
        controller: mount.path / own[controller].lstrip("/")
        for mount in mounts if mount.version == 1
        for controller in ("cpu", "cpuacct")
        if controller in mount.controllers and controller in own
    }  # fmt: skip
    cpu = found.get("cpu")
    if cpu is not None and (cpu / "cpu.stat").exists():
        usage = found["cpuacct"] / "cpuacct.usage" if "cpuacct" in found else None
        if usage is not None and not usage.exists():
            usage = None

        def v1() -> CpuSample:
            text = read(usage) if usage else None
            return sample_from(1, read(cpu / "cpu.stat"), text, time.monotonic())

        return 1, v1
    unified = [mount for mount in mounts if mount.version == 2]
    if unified and "" in own:
        directory = unified[0].path / own[""].lstrip("/")
        if "nr_periods" in read(directory / "cpu.stat"):

            def v2() -> CpuSample:
                return sample_from(2, read(directory / "cpu.stat"), None, time.monotonic())

            return 2, v2
    raise OSError(f"no CFS counters for the cgroup of pid {pid}")


# --- the hold --------------------------------------------------------------------------------


@dataclass
class Held:  # pylint: disable=too-many-instance-attributes
    """How the server's CPU is held during a run (meta.json's "allotment"), and its counters."""

    method: str  # "cgroup" or "docker" (held); "pinned" (no cgroup) or "external" (not held)
    cpus: float | None
    period_us: int | None
    quota_us: int | None
    cgroup_version: int | None = None
    unheld_reason: str | None = None  # why there is no allotment (method "pinned")
    counters: Callable[[], CpuSample] | None = None
    adder: Callable[[int], None] | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def held(self) -> bool:
        """True when a quota holds the server (the figure can be server-limited)."""
        return self.method in ("cgroup", "docker")

    def add(self, pid: int) -> None:
        """Put a process under the quota (a no-op without an allotment or for a container)."""
        if self.adder is not None:
            self.adder(pid)

    def sample(self) -> CpuSample | None:
        """The quota's counters now; None without an allotment or once its cgroup is gone."""
        if self.counters is None:
            return None
        try:
            return self.counters()
        except (OSError, RuntimeError, KeyError):
            return None

    def as_meta(self) -> dict[str, Any]:
        """meta.json's "allotment"."""
        return {
            "method": self.method,
            "cpus": self.cpus,
            "period_us": self.period_us,
            "quota_us": self.quota_us,
            "cgroup_version": self.cgroup_version,
            "unheld_reason": self.unheld_reason,
            **self.detail,
        }

    @property
    def lower_bound_reason(self) -> str | None:
        """Why the local server's figure is a lower bound for lack of an allotment, or None."""
        if self.method != "pinned":
            return None
        return (
            f"no CPU allotment ({self.unheld_reason}): the server had a whole pinned core, which "
            "the load generator on the other cores cannot be shown to saturate"
        )

    @property
    def description(self) -> str:
        """One line for the console."""
        if not self.held:
            return f"server not held: {self.unheld_reason}"
        version = f", cgroup v{self.cgroup_version}" if self.cgroup_version else ""
        return (f"server held to {self.cpus:g} CPU: {self.quota_us} us per {self.period_us} us "
                f"period ({self.method}{version})")  # fmt: skip


def _original_cgroups(pid: int) -> list[Path]:
    """The cpu (and cpuacct) cgroup directories a process is in now, to put it back after."""
    try:
        hierarchy = locate()
        own = parse_own_cgroups(read(Path(f"/proc/{pid}/cgroup")))
    except (OSError, AllotmentUnavailable):
        return []
    if hierarchy.version == 2:
        return [hierarchy.cpu / own.get("", "/").lstrip("/")]
    mounts = {mount.path for mount in parse_mounts(read(MOUNTS)) if mount.version == 1}
    found = []
    for controller, parent in (("cpu", hierarchy.cpu), ("cpuacct", hierarchy.cpuacct)):
        mount = next((path for path in mounts if parent and parent.is_relative_to(path)), None)
        if mount is not None and controller in own:
            found.append(mount / own[controller].lstrip("/"))
    return found


@contextlib.contextmanager
def process_hold(cpus: float, period_us: int, *, restore: bool = False) -> Iterator[Held]:
    """A transient cgroup with the quota; Held.add() puts a process in. Without a usable
    cgroup hierarchy, prints one line saying why and yields a "pinned" Held (the caller marks
    the figure a lower bound). restore: put added processes back in their own cgroups after
    (an external server's), not in the bench's."""
    originals: dict[int, list[Path]] = {}
    allotment = Allotment(cpus, period_us)

    def add(pid: int) -> None:
        if restore:
            originals[pid] = _original_cgroups(pid)
        allotment.add(pid)

    try:
        allotment.__enter__()  # pylint: disable=unnecessary-dunder-call
    except AllotmentUnavailable as error:
        print(f"bench: no CPU allotment: {error.reason}; the server is pinned instead and the "
              "figure is a lower bound", flush=True)  # fmt: skip
        held = Held("pinned", cpus, None, None, unheld_reason=error.reason)
    else:
        version = allotment.hierarchy.version if allotment.hierarchy else None
        held = Held("cgroup", cpus, period_us, allotment.quota_us, version,
                    counters=allotment.sample, adder=add,
                    detail={"cgroup": str(allotment.path)})  # fmt: skip
    try:
        yield held
    finally:
        allotment.close()  # a no-op when it was never entered
        for pid, directories in originals.items():
            for directory in directories:
                with contextlib.suppress(OSError):
                    write(directory / "cgroup.procs", pid)


@contextlib.contextmanager
def reserve_generator(cores: int) -> Iterator[Allotment | None]:
    """The load generator's cgroup: the highest weight and a quota of every core (no cap);
    None when no cgroup can be made (the generator then competes as any process does)."""
    candidate = Allotment(float(cores), KUBERNETES_PERIOD_US)
    allotment: Allotment | None = candidate
    try:
        candidate.__enter__()  # pylint: disable=unnecessary-dunder-call
    except AllotmentUnavailable:
        allotment = None
    try:
        yield allotment
    finally:
        if allotment is not None:
            allotment.close()


# --- a container -----------------------------------------------------------------------------


def docker(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`docker ARGS`, output captured, never raising on a non-zero exit."""
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def container_state(name: str, flag: str = "--container") -> dict[str, Any]:
    """A container's pid, running state and CPU settings; ValueError in one line naming the
    flag when it is unknown or stopped."""
    try:
        result = docker("inspect", "--format", "{{json .State}}|{{json .HostConfig}}", name)
    except OSError as error:
        raise ValueError(f"{flag} {name}: cannot run docker ({error})") from None
    if result.returncode != 0:
        message = (result.stderr.strip().splitlines() or ["no such container"])[-1]
        raise ValueError(f"{flag} {name}: {message}")
    state_text, config_text = result.stdout.strip().split("|", 1)
    state, config = json.loads(state_text), json.loads(config_text)
    if not state.get("Running"):
        raise ValueError(f"{flag} {name} is not running")
    return {
        "pid": int(state["Pid"]), "CpuPeriod": config.get("CpuPeriod") or 0,
        "CpuQuota": config.get("CpuQuota") or 0, "NanoCpus": config.get("NanoCpus") or 0,
        "CpusetCpus": config.get("CpusetCpus") or "",
    }  # fmt: skip


def _update_args(name: str, cpus: float, period_us: int) -> list[str]:
    # --cpus is Docker's 100 ms period; any other period needs --cpu-period and --cpu-quota.
    return docker_update_args(name, cpus, None if period_us == KUBERNETES_PERIOD_US else period_us)


def _restore_args(name: str, before: dict[str, Any], used_cpus_form: bool) -> list[str]:
    cpuset = ["--cpuset-cpus", before["CpusetCpus"] or f"0-{(os.cpu_count() or 1) - 1}"]
    if before["NanoCpus"]:
        return ["update", "--cpus", f"{before['NanoCpus'] / 1e9:g}", *cpuset, name]
    if before["CpuQuota"] > 0:
        period = before["CpuPeriod"] or KUBERNETES_PERIOD_US
        return ["update", "--cpu-period", str(period), "--cpu-quota", str(before["CpuQuota"]),
                *cpuset, name]  # fmt: skip
    if used_cpus_form:
        return ["update", "--cpus", "0", *cpuset, name]
    return ["update", "--cpu-quota", "-1", *cpuset, name]


@contextlib.contextmanager
def pinned_process(pid: int, cores: list[int] | None) -> Iterator[None]:
    """Every thread of an external server on the server's cores (`taskset -a -p`), as the
    local app is; its own affinity put back after."""
    if not cores or which("taskset") is None:
        yield
        return
    before = ",".join(map(str, sorted(os.sched_getaffinity(pid))))

    def taskset(listed: str) -> None:
        subprocess.run(["taskset", "-a", "-p", "-c", listed, str(pid)], capture_output=True,
                       check=False, timeout=10)  # fmt: skip

    taskset(",".join(map(str, cores)))
    try:
        yield
    finally:
        taskset(before)


@contextlib.contextmanager
def container_hold(
    name: str, cpus: float, period_us: int, cores: list[int] | None = None, *,
    update: bool = True,
) -> Iterator[Held]:  # fmt: skip
    """A running container held to the quota (and the server's cores) by `docker update`
    (update=False: `docker run` started it so), its previous settings put back after.
    ValueError in one line when the container is unknown, stopped, or Docker refuses."""
    before = container_state(name)
    command = _update_args(name, cpus, period_us)
    if cores:
        command[-1:-1] = ["--cpuset-cpus", ",".join(map(str, cores))]
    if update:
        result = docker(*command[1:])
        if result.returncode != 0:
            message = (result.stderr.strip().splitlines() or ["failed"])[-1]
            raise ValueError(f"--container {name}: {' '.join(command)}: {message}")
    version: int | None = None
    counters: Callable[[], CpuSample] | None = None
    with contextlib.suppress(OSError):
        version, counters = counters_of(before["pid"])
    detail = {"container": name, "docker_update": command[2:-1] if update else None}
    held = Held("docker", cpus, period_us, quota_us(cpus, period_us), version,
                counters=counters, detail=detail)  # fmt: skip
    try:
        yield held
    finally:
        if update:
            restore = _restore_args(name, before, "--cpus" in command)
            result = docker(*restore)
            if result.returncode != 0:
                print(f"bench: could not put back {name}'s CPU settings: docker "
                      f"{' '.join(restore)}", flush=True)  # fmt: skip


def external(cpus: float | None) -> Held:
    """A target the bench does not hold (a bare --url): its CPUs are what --server-cpus says."""
    return Held("external", cpus, None, None,
                unheld_reason="an external target without --pid or --container")  # fmt: skip
