"""bench/measure/allotment.py: a CFS quota on a local process, its counters, and its clean-up.

The tests that make real cgroups run for each cgroup version this machine can use and skip
with the reason for the others (a hybrid host's unified hierarchy has no cpu controller; no
root, no writable hierarchy). The rest runs anywhere: sizes, validation, parsing, and the
hierarchy search over fake mounts.
"""

from __future__ import annotations

import csv
import json
import math
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.measure import allotment as module
from bench.measure import cgroups
from bench.measure.allotment import (
    SAMPLE_FIELDS,
    Allotment,
    Sampler,
    default_cpus,
    docker_cpu_args,
    docker_update_args,
    validate_cpus,
    validate_period,
)
from bench.measure.cgroups import (
    AllotmentUnavailable,
    CpuSample,
    Hierarchy,
    locate,
    parse_mounts,
    parse_own_cgroups,
    sample_from,
    sweep_stale,
)

ROOT = Path(__file__).resolve().parents[2]
HOLDER = Path(__file__).with_name("allotment_holder.py")

# /proc/self/mounts and /proc/self/cgroup of a hybrid host (this one): v1 controllers each on
# their own mount, a unified hierarchy without the cpu controller.
HYBRID_MOUNTS = """\
tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0
cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0
cgroup /sys/fs/cgroup/cpuacct cgroup rw,relatime,cpuacct 0 0
cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0
cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0
"""
HYBRID_OWN = "4:memory:/jobs/7\n2:cpuacct:/\n1:cpu:/\n0::/\n"


def usable(version: int | None) -> Hierarchy:
    """The real hierarchy of that version (None: the default one), or skip saying why not."""
    try:
        return locate(version)
    except AllotmentUnavailable as error:
        pytest.skip(f"cgroup v{version or '1 or 2'} is unusable here: {error.reason}")


def our_cgroups() -> list[Path]:
    """Every transient cgroup this test process owns, in any hierarchy."""
    found = []
    for version in (1, 2):
        try:
            parents = locate(version).parents
        except AllotmentUnavailable:
            continue
        found += [
            path for parent in parents for path in parent.glob(f"celsiusify-bench-{os.getpid()}-*")
        ]
    return found


@pytest.fixture(params=[1, 2], ids=["cgroup-v1", "cgroup-v2"])
def version(request: pytest.FixtureRequest) -> int:
    """Each cgroup version, skipped with the reason where this machine cannot use it."""
    number: int = request.param
    usable(number)
    return number


@pytest.fixture
def busy() -> Iterator[subprocess.Popen[bytes]]:
    """A process spinning on one core until killed."""
    process = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    yield process
    process.kill()
    process.wait()


# --- real cgroups ----------------------------------------------------------------------------


def test_a_busy_loop_uses_its_quota_within_ten_percent(
    version: int, busy: subprocess.Popen[bytes]
) -> None:
    with Allotment(0.25, 100_000, version=version) as allotment:
        allotment.add(busy.pid)
        assert allotment.pids() == [busy.pid]
        time.sleep(0.3)  # let it reach the quota's steady state
        before = allotment.sample()
        time.sleep(3)
        interval = allotment.sample().since(before)
    assert interval.cpus_used is not None
    assert interval.cpus_used == pytest.approx(0.25, rel=0.10), interval
    assert interval.periods == pytest.approx(30, abs=3), interval
    assert interval.throttled_ratio > 0.9, interval  # a busy loop runs out of quota every period
    assert interval.throttled_usec > 0


def test_processes_forked_inside_are_born_inside(version: int) -> None:
    forker = (
        "import subprocess, time; time.sleep(0.3); "
        "print(subprocess.Popen(['sleep', '30']).pid, flush=True); time.sleep(30)"
    )
    with Allotment(0.25, version=version) as allotment:
        parent = subprocess.Popen([sys.executable, "-c", forker], stdout=subprocess.PIPE, text=True)
        child = None
        try:
            allotment.add(parent.pid)
            assert parent.stdout is not None
            child = int(parent.stdout.readline())
            assert sorted(allotment.pids()) == sorted([parent.pid, child])
        finally:
            parent.kill()
            parent.wait()
            if child is not None:
                os.kill(child, signal.SIGKILL)


def test_the_cgroup_is_gone_after_the_block_and_its_process_runs_on(
    version: int, busy: subprocess.Popen[bytes]
) -> None:
    with Allotment(0.25, 10_000, version=version) as allotment:
        allotment.add(busy.pid)
        directories = list(allotment.directories)
        assert all(path.is_dir() for path in directories)
    assert not any(path.exists() for path in directories)
    assert busy.poll() is None  # moved back to the parent, not killed


def test_the_cgroup_is_gone_after_an_exception_in_the_block(version: int) -> None:
    directories: list[Path] = []

    def fail_inside() -> None:
        with Allotment(0.25, version=version) as allotment:
            directories.extend(allotment.directories)
            raise KeyError("boom")

    with pytest.raises(KeyError):
        fail_inside()
    assert directories
    assert not any(path.exists() for path in directories)
    assert our_cgroups() == []


@pytest.fixture
def holder(version: int) -> Iterator[tuple[subprocess.Popen[str], list[Path]]]:
    """A process holding an Allotment with itself inside, and the cgroup's directories."""
    if version != locate().version:
        pytest.skip(f"the holder uses this machine's default version, v{locate().version}")
    process = subprocess.Popen(
        [sys.executable, str(HOLDER), "0.25", "10000"], cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 20)
        assert ready, "the holder never reported its cgroup"
        directories = [Path(path) for path in json.loads(process.stdout.readline())["directories"]]
        assert directories
        assert all(path.is_dir() for path in directories)
        assert str(process.pid) in (directories[0] / "cgroup.procs").read_text().split()
        yield process, directories
    finally:
        process.kill()
        process.wait()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_cgroup_is_gone_after_its_holder_is_signalled(
    holder: tuple[subprocess.Popen[str], list[Path]], signum: int
) -> None:
    process, directories = holder
    process.send_signal(signum)
    # The handler cleans up, then the process dies of the signal as it would have.
    assert process.wait(timeout=20) == -signum
    assert not any(path.exists() for path in directories)


def test_the_next_allotment_sweeps_the_cgroup_of_a_killed_holder(
    holder: tuple[subprocess.Popen[str], list[Path]],
) -> None:
    process, directories = holder
    process.kill()  # SIGKILL: no handler runs, the cgroup stays behind
    process.wait()
    assert all(path.is_dir() for path in directories)
    with Allotment(0.25):
        assert not any(path.exists() for path in directories)


def test_a_sweep_removes_the_cgroups_of_dead_owners_only() -> None:
    hierarchy = usable(None)
    owner = subprocess.Popen(["true"])
    owner.wait()  # its pid is now free: the owner of a run killed by SIGKILL
    dead = hierarchy.cpu / f"celsiusify-bench-{owner.pid}-1"
    alive = hierarchy.cpu / f"celsiusify-bench-{os.getpid()}-999999"
    dead.mkdir()
    alive.mkdir()
    try:
        removed = sweep_stale(hierarchy)
        assert dead in removed
        assert not dead.exists()
        assert alive.is_dir()
    finally:
        for path in (dead, alive):
            if path.exists():
                path.rmdir()


def test_the_sampler_writes_one_cumulative_row_per_interval(
    tmp_path: Path, busy: subprocess.Popen[bytes]
) -> None:
    usable(None)
    path = tmp_path / "allotment.csv"
    with Allotment(0.25, 10_000) as allotment:
        allotment.add(busy.pid)
        with Sampler(allotment, path, interval=0.2):
            time.sleep(1.1)
    with path.open(newline="") as stream:
        reader = csv.DictReader(stream)
        assert tuple(reader.fieldnames or ()) == SAMPLE_FIELDS
        rows = list(reader)
    assert len(rows) >= 6  # the first, one per 0.2 s, the last
    periods = [int(row["nr_periods"]) for row in rows]
    assert periods == sorted(periods)
    assert periods[-1] >= 80  # ~1.1 s of 10 ms periods
    assert int(rows[-1]["nr_throttled"]) > 0


# --- without real cgroups --------------------------------------------------------------------


@pytest.mark.parametrize(
    "cpus", [0, -0.5, 0.0, math.nan, math.inf, True, (os.cpu_count() or 1) + 0.5]
)
def test_the_validator_refuses_nonsense_in_one_line(cpus: float) -> None:
    with pytest.raises(ValueError, match=r"^cpus must be more than 0 and at most \d+") as raised:
        validate_cpus(cpus)
    assert "\n" not in str(raised.value)
    with pytest.raises(ValueError, match=r"^cpus must"):
        Allotment(cpus)


def test_the_validator_keeps_a_sensible_value() -> None:
    assert validate_cpus(0.25) == 0.25
    assert validate_cpus(os.cpu_count() or 1) == float(os.cpu_count() or 1)


@pytest.mark.parametrize("period", [999, 1_000_001, 10.5, True])
def test_periods_outside_the_kernels_range_are_refused(period: int) -> None:
    with pytest.raises(ValueError, match=r"^period_us must be an integer from 1000 to 1000000"):
        validate_period(period)


def test_a_quota_under_the_kernels_floor_is_refused() -> None:
    assert validate_period(1_000) == 1_000
    with pytest.raises(ValueError, match="under the kernel's 1000 us floor: use a longer period"):
        Allotment(0.25, 1_000)


@pytest.mark.parametrize(
    ("cores", "cpus"),
    [(1, 0.2), (2, 0.25), (3, 0.25), (4, 0.5), (6, 0.75), (8, 1.0), (16, 2.0), (64, 8.0)],
)
def test_the_default_allotment_follows_the_rule(cores: int, cpus: float) -> None:
    assert default_cpus(cores) == cpus


@pytest.mark.parametrize("cores", range(1, 129))
def test_the_generator_always_keeps_four_times_the_allotment(cores: int) -> None:
    cpus = default_cpus(cores)
    assert cpus > 0
    assert cores - cpus >= 4 * cpus - 1e-9


def test_the_default_reads_this_machine() -> None:
    assert default_cpus() == default_cpus(len(os.sched_getaffinity(0)))


def test_docker_flags_for_the_same_allotment() -> None:
    assert docker_cpu_args(0.25) == ["--cpus", "0.25"]
    assert docker_cpu_args(0.25, 10_000) == ["--cpu-period", "10000", "--cpu-quota", "2500"]
    assert docker_update_args("api", 0.5, 5_000) == [
        "docker", "update", "--cpu-period", "5000", "--cpu-quota", "2500", "api",
    ]  # fmt: skip
    assert docker_update_args("api", 1) == ["docker", "update", "--cpus", "1", "api"]
    with pytest.raises(ValueError, match=r"^cpus must"):
        docker_cpu_args(0)


def test_the_mounts_of_a_hybrid_host() -> None:
    mounts = parse_mounts(HYBRID_MOUNTS)
    assert [(str(mount.path), mount.version) for mount in mounts] == [
        ("/sys/fs/cgroup/cpu", 1), ("/sys/fs/cgroup/cpuacct", 1),
        ("/sys/fs/cgroup/memory", 1), ("/sys/fs/cgroup/unified", 2),
    ]  # fmt: skip
    assert "cpu" in mounts[0].controllers
    assert "cpu" not in mounts[1].controllers
    assert parse_own_cgroups(HYBRID_OWN) == {
        "memory": "/jobs/7",
        "cpuacct": "/",
        "cpu": "/",
        "": "/",
    }
    assert parse_own_cgroups("2:cpu,cpuacct:/a\n")["cpuacct"] == "/a"


def test_v1_and_v2_counters_become_the_same_sample() -> None:
    v1 = sample_from(1, "nr_periods 10\nnr_throttled 4\nthrottled_time 3000000\n", "7000000\n", 1.0)
    v2_stat = ("usage_usec 7000\nuser_usec 6000\nsystem_usec 1000\nnr_periods 10\n"
               "nr_throttled 4\nthrottled_usec 3000\nnr_bursts 0\nburst_usec 0\n")  # fmt: skip
    v2 = sample_from(2, v2_stat, None, 1.0)
    assert v1 == v2 == CpuSample(1.0, 7000, 10, 4, 3000)
    assert (
        sample_from(1, "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n", None, 0).usage_usec
        is None
    )


def test_an_interval_between_two_samples() -> None:
    interval = CpuSample(12.0, 1_250_000, 150, 30, 90_000).since(CpuSample(2.0, 0, 50, 10, 0))
    assert interval.seconds == 10.0
    assert interval.cpus_used == 0.125
    assert interval.periods == 100
    assert interval.throttled_ratio == 0.2
    assert CpuSample(1, None, 5, 0, 0).since(CpuSample(0, None, 5, 0, 0)).throttled_ratio == 0
    assert CpuSample(1, None, 5, 0, 0).since(CpuSample(0, None, 5, 0, 0)).cpus_used is None


def fake_host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mounts: str, own: str) -> None:
    (tmp_path / "mounts").write_text(mounts.replace("/sys/fs/cgroup", str(tmp_path)))
    (tmp_path / "cgroup").write_text(own)
    monkeypatch.setattr(cgroups, "MOUNTS", tmp_path / "mounts")
    monkeypatch.setattr(cgroups, "OWN_CGROUP", tmp_path / "cgroup")


def test_the_hybrid_hosts_v2_is_refused_for_lack_of_the_cpu_controller(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_host(tmp_path, monkeypatch, HYBRID_MOUNTS, HYBRID_OWN)
    for name in ("cpu", "cpuacct", "unified"):
        (tmp_path / name).mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    (tmp_path / "unified" / "cgroup.controllers").write_text("hugetlb\n")
    with pytest.raises(AllotmentUnavailable) as raised:
        locate(2)
    assert raised.value.reason == (
        f"cgroup v2 at {tmp_path / 'unified'} lacks the cpu controller (offers: hugetlb)"
    )
    assert locate() == Hierarchy(1, tmp_path / "cpu", tmp_path / "cpuacct")


def test_v2_with_the_cpu_controller_is_preferred_and_written_as_cpu_max(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The v2 writes, on a fake tree: this host's unified hierarchy has no cpu controller.
    The cgroup goes under the root, not under this process's leaf (a session scope), which
    v2 forbids to give its children controllers while it holds processes."""
    session = "/user.slice/user-0.slice/session-1.scope"
    fake_host(tmp_path, monkeypatch, "cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n", f"0::{session}\n")
    (tmp_path / session.lstrip("/")).mkdir(parents=True)
    (tmp_path / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (tmp_path / "cgroup.subtree_control").write_text("memory\n")
    removed: list[Path] = []
    monkeypatch.setattr(module, "remove_cgroup", removed.append)
    assert locate() == Hierarchy(2, tmp_path)
    with Allotment(0.25, 10_000) as allotment:
        assert allotment.path.parent == tmp_path
        assert (tmp_path / "cgroup.subtree_control").read_text() == "+cpu"
        assert (allotment.path / "cpu.max").read_text() == "2500 10000"
        assert (allotment.path / "cpu.weight").read_text() == "10000"
        allotment.add(4242)
        assert (allotment.path / "cgroup.procs").read_text() == "4242"
        (allotment.path / "cpu.stat").write_text(
            "usage_usec 500\nnr_periods 3\nnr_throttled 1\nthrottled_usec 20\n"
        )
        assert allotment.sample().usage_usec == 500
        path = allotment.path
    assert removed == [path]


def test_without_a_writable_hierarchy_the_reason_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_host(tmp_path, monkeypatch, HYBRID_MOUNTS, HYBRID_OWN)
    for name in ("cpu", "cpuacct", "unified"):
        (tmp_path / name).mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    (tmp_path / "unified" / "cgroup.controllers").write_text("cpu\n")
    monkeypatch.setattr(os, "access", lambda *_: False)  # as a user other than root
    with pytest.raises(AllotmentUnavailable) as raised, Allotment(0.25):
        pass
    reason = raised.value.reason
    assert "\n" not in reason
    assert f"{tmp_path / 'unified'} is not writable by uid" in reason
    assert f"{tmp_path / 'cpu'} is not writable by uid" in reason


def test_without_any_cgroup_mount_the_reason_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_host(tmp_path, monkeypatch, "proc /proc proc rw 0 0\n", "0::/\n")
    with pytest.raises(
        AllotmentUnavailable, match=r"^no cgroup v2 hierarchy is mounted; no cgroup v1"
    ):
        locate()
