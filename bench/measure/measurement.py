"""Measuring one target under load, for `bench run` and `bench stacks` (`make bench`).

The server (the app started here, or an external --url) is held to a CPU allotment
(bench/measure/hold.py), Locust runs headless with the step shape on the other cores, and the
CPU of both and the quota's counters are sampled each second; measure() writes the results
folder through bench.results. Its checks come first and raise ValueError in one line, so bad
input writes nothing. SIGTERM raises Stopped (signals_unwind) as SIGINT raises
KeyboardInterrupt, so Locust, the server and the cgroups are all cleaned up on the way out.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import socket
import sys
import threading
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

import psutil

import targets
from bench.analyse.capacity import (
    HISTORY_COLUMNS,
    BenchDataError,
    Capacity,
    find_capacity,
    read_csv,
    steps_from_history,
)
from bench.analyse.efficiency import throttled_share
from bench.measure import hold, sysinfo
from bench.measure.allotment import DEFAULT_PERIOD_US
from bench.measure.hpa import HpaWatcher
from bench.measure.load import CpuRecorder, run_locust
from bench.measure.procs import cpu_sets, free_port, serve
from bench.measure.tfserving import STANDIN_HEADER, NotTfServing, probe
from bench.results import (
    build_meta,
    history_path,
    pod_cpu_samples,
    read_replicas,
    write_cpu,
    write_meta,
    write_summary,
    write_throttling,
)


def add_load_options(parser: argparse.ArgumentParser) -> None:
    """The options every measured target shares: SLO, step shape, the server's allotment."""
    parser.add_argument("--slo-ms", type=float, default=50.0, help="p99 SLO (default 50 ms)")
    parser.add_argument("--max-failure-ratio", type=float, default=0.001)
    # 10 to 120 users: at 0.25 CPU the app's p99 passes 50 ms near 70 users, so the top steps
    # break the SLO and the run is server-limited (12 steps of 16 s, as long as 10 of 20 s).
    parser.add_argument("--start-users", type=int, default=10)
    parser.add_argument("--step-users", type=int, default=10)
    parser.add_argument("--step-seconds", type=float, default=16.0)
    parser.add_argument("--max-users", type=int, default=120)
    parser.add_argument(
        "--server-cpus", type=float,
        help="the server's CPU allotment, held as a cgroup quota (default: this machine's "
        "default_cpus(), 0.25 on 2 cores; more than 0, at most the cores); for a bare --url "
        "only the figure per CPU",
    )  # fmt: skip
    parser.add_argument(
        "--cpu-period", default=f"{DEFAULT_PERIOD_US // 1000}ms",
        help="CFS period of the allotment, in ms ('100ms', Kubernetes' and Docker's) or µs "
        "('10000us' or a bare number); default %(default)s",
    )  # fmt: skip
    parser.add_argument("--results", type=Path, default=targets.ROOT / "results")


# --- what is checked before anything is written ----------------------------------------------


def allotment_of(args: argparse.Namespace) -> tuple[float | None, int]:
    """(cpus, period µs) of the run; ValueError in one line on a bad --server-cpus/--cpu-period.
    A bare --url is not held: its --server-cpus is only the per-CPU figure's divisor."""
    period = hold.parse_period(args.cpu_period)
    if args.url and not (args.pid or args.container):
        if args.server_cpus is not None and not args.server_cpus > 0:
            raise ValueError(f"--server-cpus must be more than 0, not {args.server_cpus:g}")
        return args.server_cpus, period
    return hold.allotment_size(args.server_cpus, period), period


def check_target(args: argparse.Namespace) -> bool | None:
    """Whether the --url target is a stand-in (None for the local app); ValueError in one line
    when it does not answer, is not what --user loads, or --pid/--container are wrong."""
    if not args.url:
        if args.pid or args.container:
            raise ValueError("--pid and --container hold an external server: give its --url")
        return None
    if problem := unreachable(args.url):
        raise ValueError(problem)
    if args.pid is not None and not psutil.pid_exists(args.pid):
        raise ValueError(f"--pid {args.pid} is not running")
    if args.container:
        hold.container_state(args.container)
    manifest = targets.get(targets.target_of_user(args.user))
    if manifest.model:
        try:
            return probe(args.url, manifest.model).standin
        except NotTfServing as error:
            raise ValueError(str(error)) from None
    return answered_by_standin(args.url + manifest.readiness_path)


def answered_by_standin(url: str) -> bool:
    """True when the answer carries the stand-ins' header (tests/standins/)."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (http)
            return response.headers.get(STANDIN_HEADER) is not None
    except OSError as error:
        headers = getattr(error, "headers", None)
        return headers is not None and headers.get(STANDIN_HEADER) is not None


def unreachable(url: str) -> str | None:
    """Why a TCP connection to the URL's host and port fails, or None if it succeeds."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{url!r} is not an http(s) URL"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=3):
            return None
    except OSError as error:
        return f"cannot connect to {parts.hostname}:{port} ({error})"


# --- the servers and the load ----------------------------------------------------------------


@contextlib.contextmanager
def local_app(cores: list[int] | None) -> Iterator[tuple[str, psutil.Process]]:
    """Start `python -m app` on a free port; yield its URL and process; stop it."""
    port = free_port()
    command = [sys.executable, "-m", "app", "--port", str(port), "--shutdown-delay", "0"]
    with serve(command, "/readyz", port, cores) as server:
        yield server.base, psutil.Process(server.pid)


@contextlib.contextmanager
def held_server(
    args: argparse.Namespace, cpus: float | None, period: int, cores: list[int] | None
) -> Iterator[tuple[str, psutil.Process | None, hold.Held]]:
    """The server (the local app, or --url) and how its CPU is held, for the run's length."""
    if args.container:
        started = getattr(args, "container_started", False)  # run with the quota already
        with hold.container_hold(args.container, cpus or 0, period, cores,
                                 update=not started) as held:  # fmt: skip
            yield args.url.rstrip("/"), None, held
    elif args.url and not args.pid:
        yield args.url.rstrip("/"), None, hold.external(cpus)
    else:
        with hold.process_hold(cpus or 0, period, restore=bool(args.pid)) as held:
            if args.pid:
                held.add(args.pid)
                with hold.pinned_process(args.pid, cores):
                    yield args.url.rstrip("/"), psutil.Process(args.pid), held
            else:
                with local_app(cores) as (url, server):
                    held.add(server.pid)
                    yield url, server, held


# --- the run ---------------------------------------------------------------------------------


def limit(capacity: Capacity) -> str:
    """What the run says limited it: "server-limited" or "lower bound" (or no step measured)."""
    if capacity.step is None and not capacity.reasons:
        return "no step within the SLO"
    return "lower bound" if capacity.lower_bound else "server-limited"


@dataclass
class Recording:  # pylint: disable=too-many-instance-attributes
    """What one measurement recorded beside Locust's CSVs, for meta.json."""

    started: datetime
    held: hold.Held
    standin: bool | None
    pinning: tuple[str, str]
    recorder: CpuRecorder
    locust_exit_code: int
    watcher: HpaWatcher | None


def run_meta(
    args: argparse.Namespace, argv: Sequence[str] | None, *, target: str, url: str,
    capacity: Capacity, recording: Recording,
) -> dict[str, object]:  # fmt: skip
    """meta.json of this run (bench.results.build_meta): its settings, pinning and recordings."""
    recorder, held, watcher = recording.recorder, recording.held, recording.watcher
    loadgen = [s.loadgen_percent for s in recorder.samples if s.loadgen_percent is not None]
    allotment = held.as_meta()
    note = ""
    if capacity.step is not None and recorder.throttling:
        share = throttled_share(recorder.throttling, capacity.step.start, capacity.step.end)
        allotment["throttled_share_at_capacity"] = share
        if share is not None:
            note += f"; the quota throttled the server in {share:.0%} of its periods at capacity"
    if limit(capacity) == "server-limited":
        note += ". Server-limited: the server broke the SLO while the load generator had CPU left"
    return build_meta(
        "run", argv, capacity, target=target, url=url if args.url else "local (python -m app)",
        user_class=args.user, pinning=recording.pinning, server_cpus=held.cpus,
        loadgen_percent=loadgen, headline_note=note,
        started_utc=recording.started.isoformat(), finished_utc=datetime.now(UTC).isoformat(),
        step_load={
            "start_users": args.start_users,
            "step_users": args.step_users,
            "step_seconds": args.step_seconds,
            "max_users": args.max_users,
        },
        locust_exit_code=recording.locust_exit_code,
        allotment=allotment, standin=bool(recording.standin), limit=limit(capacity),
        hpa=None if watcher is None
        else {"name": args.kube_hpa, "samples": watcher.samples, "errors": watcher.errors},
        machine=sysinfo.collect(),
    )  # fmt: skip


def _pinning(
    args: argparse.Namespace, held: hold.Held, cores: tuple[list[int] | None, list[int] | None],
    reserved: bool,
) -> tuple[str, str]:  # fmt: skip
    server_cores, generator_cores = cores
    listed = ",".join(map(str, server_cores or []))
    if args.container:
        server = f"docker --cpuset-cpus {listed}" if listed else "docker"
    elif args.pid:
        server = f"taskset -a -p -c {listed} {args.pid}" if listed else f"pid {args.pid}"
    elif args.url:
        server = "external"
    else:
        server = f"taskset -c {listed}" if listed else "none"
    if held.held:
        server += f"; {held.description.removeprefix('server ')}"
    generator = "taskset -c " + ",".join(map(str, generator_cores)) if generator_cores else "none"
    if reserved:
        generator += "; cgroup with the highest weight, no quota"
    return server, generator


def _load(
    args: argparse.Namespace, target: str, run_dir: Path, allotment: tuple[float | None, int],
    standin: bool | None,
) -> tuple[str, Recording, list[str]]:  # fmt: skip
    """Hold the server and load it: its URL, what was recorded, Locust's output."""
    cpus, period = allotment
    cores = cpu_sets() or (None, None)
    watcher = None
    if args.kube_hpa:
        watcher = HpaWatcher(args.kube_hpa, run_dir / "replicas.csv", args.hpa_interval)
    started = datetime.now(UTC)
    with held_server(args, cpus, period, cores[0]) as (url, server, held):
        print(f"bench: target {target}{' (stand-in)' if standin else ''} at {url}; "
              f"{held.description}; server cores {cores[0] or 'unpinned'}, load generator "
              f"cores {cores[1] or 'unpinned'}", flush=True)  # fmt: skip
        if watcher:
            watcher.start()
        try:
            code, recorder, output, reserved = run_locust(
                args, url, run_dir / target, cores[1], server, held
            )
        finally:
            if watcher:
                watcher.stop()
    pinning = _pinning(args, held, cores, reserved)
    return url, Recording(started, held, standin, pinning, recorder, code, watcher), output


def measure(
    args: argparse.Namespace, argv: Sequence[str] | None, *, target: str, run_dir: Path,
    allotment: tuple[float | None, int], standin: bool | None,
) -> int:  # fmt: skip
    """Hold the server, load it, write the results folder; 2 when Locust recorded nothing."""
    run_dir.mkdir(parents=True, exist_ok=True)
    print(f"bench: results in {run_dir}", flush=True)
    url, recording, output = _load(args, target, run_dir, allotment, standin)
    try:
        history = read_csv(history_path(run_dir, target), HISTORY_COLUMNS)
    except BenchDataError as error:
        print("\n".join(output[-20:]))
        print(f"bench: {error}")
        return 2
    samples, held, watcher = recording.recorder.samples, recording.held, recording.watcher
    if args.url and not args.pid and not held.held and watcher is not None and watcher.samples:
        samples += pod_cpu_samples(read_replicas(run_dir / "replicas.csv"))
    steps = steps_from_history(history, samples)
    capacity = find_capacity(steps, args.slo_ms, args.max_failure_ratio)
    if reason := held.lower_bound_reason:
        capacity.reasons.append(reason)
        capacity.lower_bound = True
    write_cpu(run_dir, samples)
    if recording.recorder.throttling:
        write_throttling(run_dir, recording.recorder.throttling)
    write_summary(run_dir, target, steps, capacity)
    meta = run_meta(args, argv, target=target, url=url, capacity=capacity, recording=recording)
    write_meta(run_dir, meta)
    print(f"\nbench: {len(steps)} steps; {meta['limit']}; {meta['headline']}")
    print(f"bench: wrote {run_dir}; next: python -m bench report {run_dir}")
    return 0 if steps else 2


class Stopped(Exception):
    """SIGTERM arrived: unwind, stopping Locust and the server and removing the cgroups."""


@contextlib.contextmanager
def signals_unwind() -> Iterator[None]:
    """SIGTERM raises Stopped (SIGINT raises KeyboardInterrupt already), so every `with` on
    the way out runs; an Allotment's own handler removes its cgroup first and then calls this."""

    def stop(signum: int, _frame: FrameType | None) -> None:
        raise Stopped(signal.Signals(signum).name)

    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, stop)
        try:
            yield
        finally:
            signal.signal(signal.SIGTERM, previous)
    else:
        yield


def run_parser(description: str = "") -> argparse.ArgumentParser:
    """`bench run`'s options (stacks builds each target's run with them too)."""
    parser = argparse.ArgumentParser(
        prog="python -m bench run", description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("--url", help="target base URL (default: start the app locally)")
    parser.add_argument("--pid", type=int, help="with --url: the server's process, held to the "
                        "allotment (moved back to its own cgroup after)")  # fmt: skip
    parser.add_argument("--container", help="with --url: the server's Docker container, held to "
                        "the allotment by docker update (its settings put back after)")  # fmt: skip
    parser.add_argument("--target", help="name of the target in results (default: from --user)")
    parser.add_argument(
        "--user",
        default=targets.get("celsiusify").user_class,
        choices=sorted(targets.user_classes()),
    )
    add_load_options(parser)
    parser.add_argument("--kube-hpa", metavar="NAME", help="record `kubectl get hpa NAME`")
    parser.add_argument("--hpa-interval", type=float, default=5.0)
    parser.add_argument("--run-dir", type=Path, help="exact output folder (default: timestamped)")
    return parser
