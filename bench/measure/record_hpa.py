"""`python -m bench hpa NAME`: record one HPA into a replicas.csv beside Locust in the cluster.

`bench run --kube-hpa NAME` records while its own Locust runs. For Locust running in the
cluster, record alongside it and hand the file to `bench import --replicas`:

    python -m bench hpa celsiusify --out replicas.csv   # until Ctrl-C (or --seconds N)

Each sample (bench.measure.hpa's HpaWatcher): the HPA's current and desired replicas, its CPU
utilisation and average CPU per pod, and the Ready replicas of the workload it scales; the
columns are bench.results.REPLICAS_COLUMNS.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Sequence
from pathlib import Path

from bench.measure.hpa import HpaWatcher


def main(argv: Sequence[str] | None = None) -> int:
    """Record one HPA into a replicas.csv until interrupted or --seconds have passed."""
    parser = argparse.ArgumentParser(
        prog="python -m bench hpa",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("name", help="the HorizontalPodAutoscaler's name")
    parser.add_argument("--out", type=Path, default=Path("replicas.csv"))
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between samples")
    parser.add_argument("--seconds", type=float, help="stop after this long (default: Ctrl-C)")
    parser.add_argument("--kubectl", default="kubectl")
    args = parser.parse_args(argv)
    watcher = HpaWatcher(args.name, args.out, args.interval, kubectl=args.kubectl)
    watcher.start()
    print(f"bench: hpa: recording {args.name} into {args.out} every {args.interval:g} s",
          flush=True)  # fmt: skip
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends the recording, not the file
        watcher.join(timeout=args.seconds)
    watcher.stop()
    print(f"bench: hpa: {watcher.samples} samples in {args.out}")
    return 0 if watcher.samples else 2
