"""`python -m bench run`: a step-load Locust run against Celsiusify (or any --url).

Without --url it starts the app itself: one `python -m app` process on CPU 0 (taskset), held
to a CPU allotment (bench/measure/hold.py: a cgroup quota, default allotment.default_cpus()
CPUs per 10 ms period, `--server-cpus`, `--cpu-period`), with Locust on the remaining cores.
An external server is held the same way with --pid (its process) or --container (Docker's
quota, by `docker update`). Results go to results/<UTC timestamp>-<target>/: Locust's CSVs and
its own HTML report, cpu.csv, throttling.csv (the quota's counters each second), summary.csv,
meta.json (and replicas.csv with --kube-hpa; the pods' CPU the HPA reports then stands for the
server's CPU of an external target). `python -m bench report` plots them. The folder's format
belongs to bench.results.

The run is "server-limited" when the server broke the SLO while the load generator stayed
under 90 % CPU, else a "lower bound" (and always one without an allotment: no cgroup here).
Ctrl-C or SIGTERM stops Locust and the server and removes the cgroups.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import UTC, datetime

import targets
from bench.measure import measurement


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    return measurement.run_parser(__doc__ or "").parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run, then write the results folder; 2 on a usage or data problem (nothing written)."""
    args = parse_args(argv)
    try:
        allotment = measurement.allotment_of(args)
        standin = measurement.check_target(args)
    except ValueError as error:
        print(f"bench: {error}")
        return 2
    target = args.target or targets.target_of_user(args.user)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir = args.run_dir or args.results / f"{stamp}-{target}"
    try:
        with measurement.signals_unwind():
            return measurement.measure(
                args, argv, target=target, run_dir=run_dir, allotment=allotment, standin=standin
            )
    except (KeyboardInterrupt, measurement.Stopped) as error:
        name = str(error) or "SIGINT"
        print(f"\nbench: stopped by {name}: Locust and the server stopped, no cgroup left")
        return 143 if isinstance(error, measurement.Stopped) else 130
