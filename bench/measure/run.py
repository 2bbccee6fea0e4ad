"""`python -m bench run`: a step-load Locust run against Celsiusify (or any --url).

Without --url it starts the app itself: one `python -m app` process pinned to
CPU 0 (taskset), with Locust pinned to the remaining cores. Results go to
results/<UTC timestamp>-<target>/: Locust's CSVs and its own HTML report, cpu.csv,
summary.csv, meta.json (and replicas.csv with --kube-hpa; the pods' CPU the HPA reports then
stands for the server's CPU of an external target). `python -m bench report` plots them.
The folder's format belongs to bench.results.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import psutil

import targets
from bench.analyse.capacity import (
    HISTORY_COLUMNS,
    BenchDataError,
    Capacity,
    CpuSample,
    find_capacity,
    read_csv,
    steps_from_history,
)
from bench.measure import sysinfo
from bench.measure.hpa import HpaWatcher
from bench.measure.procs import cpu_sets, free_port, pinned, serve
from bench.results import (
    build_meta,
    history_path,
    last_history_row,
    locust_html_path,
    pod_cpu_samples,
    read_replicas,
    write_cpu,
    write_meta,
    write_summary,
)

LOCUSTFILE = targets.ROOT / "locust" / "main.py"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m bench run", description=__doc__)
    parser.add_argument("--url", help="target base URL (default: start the app locally)")
    parser.add_argument("--target", help="name of the target in results (default: from --user)")
    parser.add_argument(
        "--user",
        default=targets.get("celsiusify").user_class,
        choices=sorted(targets.user_classes()),
    )
    parser.add_argument("--slo-ms", type=float, default=50.0, help="p99 SLO (default 50 ms)")
    parser.add_argument("--max-failure-ratio", type=float, default=0.001)
    parser.add_argument("--start-users", type=int, default=4)
    parser.add_argument("--step-users", type=int, default=4)
    parser.add_argument("--step-seconds", type=float, default=20.0)
    parser.add_argument("--max-users", type=int, default=40)
    parser.add_argument("--server-cpus", type=float, help="CPUs the target may use, for per-CPU "
                        "figures (default: 1 for the local app, else unknown)")  # fmt: skip
    parser.add_argument("--kube-hpa", metavar="NAME", help="record `kubectl get hpa NAME`")
    parser.add_argument("--hpa-interval", type=float, default=5.0)
    parser.add_argument("--results", type=Path, default=targets.ROOT / "results")
    parser.add_argument("--run-dir", type=Path, help="exact output folder (default: timestamped)")
    return parser.parse_args(argv)


@contextmanager
def local_app(cores: list[int] | None) -> Iterator[tuple[str, psutil.Process]]:
    """Start `python -m app` on a free port; yield its URL and process; stop it."""
    port = free_port()
    command = [sys.executable, "-m", "app", "--port", str(port), "--shutdown-delay", "0"]
    with serve(command, "/readyz", port, cores) as server:
        yield server.base, psutil.Process(server.pid)


def tree_cpu_percent(process: psutil.Process) -> float:
    """CPU percent (of one core) of a process and its children since the last call."""
    total = 0.0
    for member in [process, *process.children(recursive=True)]:
        try:
            total += member.cpu_percent(None)
        except psutil.Error:
            continue
    return total


def run_locust(
    args: argparse.Namespace, url: str, prefix: Path, cores: list[int] | None,
    server: psutil.Process | None,
) -> tuple[int, list[CpuSample], list[str]]:  # fmt: skip
    """Run Locust headless with the step shape; sample CPU each second; print progress."""
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
    samples: list[CpuSample] = []
    history = history_path(prefix.parent, prefix.name)
    with subprocess.Popen(
        command,
        cwd=targets.ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as locust:
        generator = psutil.Process(locust.pid)
        tree_cpu_percent(generator)
        if server:
            tree_cpu_percent(server)
        started = time.monotonic()
        while locust.poll() is None:
            time.sleep(1.0)
            try:
                load = tree_cpu_percent(generator)
            except psutil.Error:
                break
            samples.append(
                CpuSample(time.time(), load, tree_cpu_percent(server) if server else None)
            )
            elapsed = time.monotonic() - started
            if int(elapsed) % 5 == 0:
                row = last_history_row(history)
                if row:
                    print(
                        f"[{elapsed:5.0f}s] users={row['User Count']:>4} "
                        f"rps={float(row['Requests/s']):8.1f} p99={row['99%']:>5} ms "
                        f"failures={row['Total Failure Count']} loadgen cpu={load:5.1f}%"
                        + (f" server cpu={samples[-1].server_percent:5.1f}%" if server else ""),
                        flush=True,
                    )
        output = locust.stdout.read() if locust.stdout else ""
        return locust.wait(), samples, output.splitlines()


def run_meta(
    args: argparse.Namespace, *, target: str, url: str, argv: Sequence[str] | None,
    cores: tuple[list[int] | None, list[int] | None], started: datetime,
    samples: list[CpuSample], locust_exit_code: int, capacity: Capacity,
    watcher: HpaWatcher | None,
) -> dict[str, object]:  # fmt: skip
    """meta.json of this run (bench.results.build_meta): its settings, pinning and recordings."""
    server_cores, generator_cores = cores
    loadgen = [sample.loadgen_percent for sample in samples if sample.loadgen_percent is not None]
    if args.url:
        server_pinning = "external"
    else:
        server_pinning = f"taskset -c {server_cores[0]}" if server_cores else "none"
    generator_pinning = "none"
    if generator_cores:
        generator_pinning = "taskset -c " + ",".join(map(str, generator_cores))
    return build_meta(
        "run", argv, capacity, target=target, url=url if args.url else "local (python -m app)",
        user_class=args.user, pinning=(server_pinning, generator_pinning),
        server_cpus=args.server_cpus or (None if args.url else 1.0), loadgen_percent=loadgen,
        started_utc=started.isoformat(),
        finished_utc=datetime.now(UTC).isoformat(),
        step_load={
            "start_users": args.start_users,
            "step_users": args.step_users,
            "step_seconds": args.step_seconds,
            "max_users": args.max_users,
        },
        locust_exit_code=locust_exit_code,
        hpa=None if watcher is None
        else {"name": args.kube_hpa, "samples": watcher.samples, "errors": watcher.errors},
        machine=sysinfo.collect(),
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """Run, then write the results folder; 2 on a usage or data problem."""
    args = parse_args(argv)
    if args.url and (problem := unreachable(args.url)):
        print(f"bench: {problem}")
        return 2
    target = args.target or targets.target_of_user(args.user)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir = args.run_dir or args.results / f"{stamp}-{target}"
    run_dir.mkdir(parents=True, exist_ok=True)
    cores = cpu_sets() or (None, None)
    print(f"bench: results in {run_dir}", flush=True)
    watcher = None
    if args.kube_hpa:
        watcher = HpaWatcher(args.kube_hpa, run_dir / "replicas.csv", args.hpa_interval)
    started = datetime.now(UTC)
    with local_app(cores[0]) if not args.url else _external(args.url) as (url, server):
        print(
            f"bench: target {target} at {url}; server cores {cores[0] or 'unpinned'}, "
            f"load generator cores {cores[1] or 'unpinned'}",
            flush=True,
        )
        if watcher:
            watcher.start()
        try:
            code, samples, output = run_locust(args, url, run_dir / target, cores[1], server)
        finally:
            if watcher:
                watcher.stop()
    try:
        history = read_csv(history_path(run_dir, target), HISTORY_COLUMNS)
    except BenchDataError as error:
        print("\n".join(output[-20:]))
        print(f"bench: {error}")
        return 2
    if server is None and watcher is not None and watcher.samples:
        samples += pod_cpu_samples(read_replicas(run_dir / "replicas.csv"))
    steps = steps_from_history(history, samples)
    capacity = find_capacity(steps, args.slo_ms, args.max_failure_ratio)
    write_cpu(run_dir, samples)
    write_summary(run_dir, target, steps, capacity)
    meta = run_meta(
        args, target=target, url=url, argv=argv, cores=cores, started=started,
        samples=samples, locust_exit_code=code, capacity=capacity, watcher=watcher,
    )  # fmt: skip
    write_meta(run_dir, meta)
    print(f"\nbench: {len(steps)} steps; {meta['headline']}")
    print(f"bench: wrote {run_dir}; next: python -m bench report {run_dir}")
    return 0 if steps else 2


@contextmanager
def _external(url: str) -> Iterator[tuple[str, None]]:
    yield url.rstrip("/"), None


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
