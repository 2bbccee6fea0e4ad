"""`python -m bench import RUN_DIR --target NAME`: a results folder from Locust CSVs made elsewhere.

The CSVs come from Locust in the cluster (the master's emptyDir, fetched by
`make loadtest-results`, or by the in-cluster comparison).

Computes the same per-step summary and capacity as `bench run` from
<RUN_DIR>/<target>_stats_history.csv and writes summary.csv and meta.json, so
`bench report` can compare an in-cluster run with local ones. The load generator's CPU is
not known for such runs, so the lower-bound check can only use the SLO criterion. With an HPA
recording (`--replicas`, or a replicas.csv already in the folder; bench/measure/hpa.py's
format), the pods' CPU it holds becomes the server's CPU (cpu.csv, summary.csv: req per
CPU-second used) and the report adds its autoscaler page.
"""

from __future__ import annotations

import argparse
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from bench.analyse.capacity import (
    HISTORY_COLUMNS,
    BenchDataError,
    CpuSample,
    find_capacity,
    read_csv,
    steps_from_history,
)
from bench.measure import sysinfo
from bench.results import (
    build_meta,
    history_path,
    pod_cpu_samples,
    read_replicas,
    write_cpu,
    write_meta,
    write_summary,
)


def pods_cpu(run_dir: Path, replicas: Path | None) -> list[CpuSample]:
    """The pods' CPU from the HPA recording (copied into the folder as replicas.csv)."""
    target = run_dir / "replicas.csv"
    if replicas is not None and replicas.resolve() != target.resolve():
        if not replicas.is_file():
            raise BenchDataError(f"{replicas}: file not found")
        shutil.copyfile(replicas, target)
    return pod_cpu_samples(read_replicas(target)) if target.exists() else []


def main(argv: Sequence[str] | None = None) -> int:
    """Write summary.csv and meta.json next to the CSVs; 2 with one line on bad input."""
    parser = argparse.ArgumentParser(prog="python -m bench import", description=__doc__)
    parser.add_argument("run_dir", type=Path, help="folder holding <target>_stats_history.csv")
    parser.add_argument("--target", required=True, help="name of the target, e.g. tfserving")
    parser.add_argument("--csv-prefix", help="Locust's --csv prefix, if not the target name")
    parser.add_argument("--slo-ms", type=float, default=50.0)
    parser.add_argument("--max-failure-ratio", type=float, default=0.001)
    parser.add_argument(
        "--server-cpus", type=float, help="CPUs the target had (e.g. replicas × limit)"
    )
    parser.add_argument("--replicas", type=Path, help="replicas.csv recorded during the run "
                        "(bench/measure/hpa.py's format), copied into the folder")  # fmt: skip
    parser.add_argument("--where", default="in-cluster (deliveryhero/locust)",
                        help="where the load ran, for the report")  # fmt: skip
    args = parser.parse_args(argv)
    if args.csv_prefix and args.csv_prefix != args.target:
        # The report finds CSVs by target name: copy them under it (originals stay).
        for source in args.run_dir.glob(f"{args.csv_prefix}_*.csv"):
            suffix = source.name.removeprefix(args.csv_prefix)
            shutil.copyfile(source, args.run_dir / f"{args.target}{suffix}")
    try:
        history = read_csv(history_path(args.run_dir, args.target), HISTORY_COLUMNS)
        pods = pods_cpu(args.run_dir, args.replicas)
    except BenchDataError as error:
        print(f"import: {error}")
        return 2
    steps = steps_from_history(history, pods)
    if not steps:
        print(f"import: {args.run_dir}: no load step long enough to measure")
        return 2
    capacity = find_capacity(steps, args.slo_ms, args.max_failure_ratio)
    write_cpu(args.run_dir, pods)
    write_summary(args.run_dir, args.target, steps, capacity)
    meta = build_meta(
        "import", argv, capacity, target=args.target, url=args.where,
        user_class="see the Locust values", pinning=("external", "external"),
        server_cpus=args.server_cpus, loadgen_percent=[],
        headline_note=" (load generator CPU not recorded for imported runs)",
        imported_utc=datetime.now(UTC).isoformat(),
        machine={
            "note": "imported: the machine below is the one that imported the CSVs",
            **sysinfo.collect(),
        },
    )  # fmt: skip
    write_meta(args.run_dir, meta)
    print(f"import: {len(steps)} steps; {meta['headline']}")
    return 0
