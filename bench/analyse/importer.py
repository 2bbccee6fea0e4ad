"""`python -m bench import RUN_DIR --target NAME`: a results folder from Locust CSVs made elsewhere.

The CSVs come from Locust in the cluster (the master's emptyDir, fetched by
`make loadtest-results`, or by the in-cluster comparison).

Computes the same per-step summary and capacity as `bench run` from
<RUN_DIR>/<target>_stats_history.csv and writes summary.csv and meta.json, so
`bench report` can compare an in-cluster run with local ones. With an HPA recording
(`--replicas`, or a replicas.csv already in the folder; bench/measure/hpa.py's format), the
pods' CPU it holds becomes the server's CPU (cpu.csv, summary.csv: req per CPU-second used)
and the report adds its autoscaler page. With the Locust worker pods' recording
(`--loadgen-pods`, or a loadgen_pods.csv in the folder; bench/measure/loadgen.py's format), the
busiest worker's CPU in percent of its ceiling is the load generator's CPU, and a step the
server held within the SLO while a worker was above 90 % makes the capacity a lower bound, as
in a local run; without it the load generator's CPU is not known, and only the SLO criterion
can say so. Locust's CSVs, `<csv prefix>_share.csv` (who answered) with them, are kept
under the target's name.
`--standin TEXT` marks a run whose target was a stand-in image, not the real server (meta.json
"standin": true; the report refuses to compare it).
"""

from __future__ import annotations

import argparse
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from bench.analyse.capacity import (
    GENERATOR_SATURATED_PERCENT,
    HISTORY_COLUMNS,
    BenchDataError,
    Capacity,
    CpuSample,
    find_capacity,
    read_csv,
    steps_from_history,
)
from bench.measure import sysinfo
from bench.results import (
    LOADGEN_PODS,
    LOADGEN_PODS_PINNING,
    build_meta,
    history_path,
    loadgen_samples,
    pod_cpu_samples,
    read_loadgen_pods,
    read_replicas,
    write_cpu,
    write_meta,
    write_summary,
)


def adopt(run_dir: Path, recording: Path | None, name: str) -> Path | None:
    """A recording copied into the folder under its name; the path there (None: none given and
    none there)."""
    target = run_dir / name
    if recording is not None and recording.resolve() != target.resolve():
        if not recording.is_file():
            raise BenchDataError(f"{recording}: file not found")
        shutil.copyfile(recording, target)
    return target if target.exists() else None


def pods_cpu(run_dir: Path, replicas: Path | None) -> list[CpuSample]:
    """The pods' CPU from the HPA recording (copied into the folder as replicas.csv)."""
    target = adopt(run_dir, replicas, "replicas.csv")
    return pod_cpu_samples(read_replicas(target)) if target else []


def loadgen_cpu(run_dir: Path, recording: Path | None) -> list[CpuSample]:
    """The load generator's CPU from the worker pods' recording (copied in as LOADGEN_PODS)."""
    target = adopt(run_dir, recording, LOADGEN_PODS)
    return loadgen_samples(read_loadgen_pods(target)) if target else []


def headline_note(loadgen: list[CpuSample], capacity: Capacity, standin: str | None) -> str:
    """What the headline adds for an imported run: server-limited when the generator's CPU was
    known and it was not the limit (else the lower bound says why), or that it was not known;
    then the stand-in, named."""
    if not loadgen:
        note = " (load generator CPU not recorded for imported runs)"
    elif capacity.step is not None and not capacity.lower_bound:
        note = (
            f". Server-limited: the busiest Locust worker stayed at or under "
            f"{GENERATOR_SATURATED_PERCENT:g} % of its CPU on every step within the SLO"
        )
    else:
        note = ""
    if standin:
        note += f". STAND-IN, not the real server: {standin}"
    return note


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
    parser.add_argument("--loadgen-pods", type=Path, help="loadgen_pods.csv recorded during "
                        "the run (bench/measure/loadgen.py's), copied into the folder")  # fmt: skip
    parser.add_argument("--where", default="in-cluster (deliveryhero/locust)",
                        help="where the load ran, for the report")  # fmt: skip
    parser.add_argument("--standin", metavar="TEXT",
                        help="the target ran this stand-in, not the real server")  # fmt: skip
    args = parser.parse_args(argv)
    if args.csv_prefix and args.csv_prefix != args.target:
        # The report finds CSVs by target name (the share CSV too, bench.results.share_path):
        # copy them under it (originals stay).
        for source in args.run_dir.glob(f"{args.csv_prefix}_*.csv"):
            suffix = source.name.removeprefix(args.csv_prefix)
            shutil.copyfile(source, args.run_dir / f"{args.target}{suffix}")
    try:
        history = read_csv(history_path(args.run_dir, args.target), HISTORY_COLUMNS)
        pods = pods_cpu(args.run_dir, args.replicas)
        loadgen = loadgen_cpu(args.run_dir, args.loadgen_pods)
    except BenchDataError as error:
        print(f"import: {error}")
        return 2
    steps = steps_from_history(history, pods + loadgen)
    if not steps:
        print(f"import: {args.run_dir}: no load step long enough to measure")
        return 2
    capacity = find_capacity(steps, args.slo_ms, args.max_failure_ratio)
    write_cpu(args.run_dir, pods + loadgen)
    write_summary(args.run_dir, args.target, steps, capacity)
    standin = {"standin": True} if args.standin else {}
    meta = build_meta(
        "import", argv, capacity, target=args.target, url=args.where,
        user_class="see the Locust values",
        pinning=("external", LOADGEN_PODS_PINNING if loadgen else "external"),
        server_cpus=args.server_cpus,
        loadgen_percent=[s.loadgen_percent for s in loadgen if s.loadgen_percent is not None],
        headline_note=headline_note(loadgen, capacity, args.standin),
        imported_utc=datetime.now(UTC).isoformat(), **standin,
        machine={
            "note": "imported: the machine below is the one that imported the CSVs",
            **sysinfo.collect(),
        },
    )  # fmt: skip
    write_meta(args.run_dir, meta)
    print(f"import: {len(steps)} steps; {meta['headline']}")
    return 0
