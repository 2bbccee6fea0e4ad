"""`python -m bench hpa NAME`: record one HPA into a replicas.csv beside Locust in the cluster,
and, with --loadgen, the Locust worker pods' CPU into loadgen_pods.csv.

`bench run --kube-hpa NAME` records while its own Locust runs. For Locust running in the
cluster, record alongside it and hand the files to `bench import --replicas … --loadgen-pods …`
(`make loadtest-record` runs this for `make loadtest-results`):

    python -m bench hpa celsiusify --out replicas.csv   # until Ctrl-C (or --seconds N)
    python -m bench hpa celsiusify --loadgen component=worker,app.kubernetes.io/instance=locust

Each HPA sample (bench.measure.hpa's HpaWatcher): the HPA's current and desired replicas, its CPU
utilisation and average CPU per pod, and the Ready replicas of the workload it scales; the
columns are bench.results.REPLICAS_COLUMNS. Each worker sample (bench.measure.loadgen): a pod's
CPU over one metrics window, with its CPU request and limit (bench.results.LOADGEN_PODS_COLUMNS).
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Sequence
from pathlib import Path

from bench.measure.hpa import HpaWatcher
from bench.measure.loadgen import LoadgenWatcher
from bench.measure.recorder import KubectlRecorder
from bench.results import LOADGEN_PODS


def main(argv: Sequence[str] | None = None) -> int:
    """Record until interrupted or --seconds have passed; 2 when nothing was recorded."""
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
    parser.add_argument("--namespace", help="default: kubectl's current namespace")
    parser.add_argument("--loadgen", metavar="SELECTOR",
                        help="also record the CPU of the pods this label selector names (the "
                        "Locust workers)")  # fmt: skip
    parser.add_argument("--loadgen-namespace", help="theirs, if not --namespace")
    parser.add_argument("--loadgen-out", type=Path,
                        help=f"where those go (default: {LOADGEN_PODS} beside --out)")  # fmt: skip
    args = parser.parse_args(argv)
    hpa = HpaWatcher(args.name, args.out, args.interval, kubectl=args.kubectl,
                     namespace=args.namespace)  # fmt: skip
    recorders: list[KubectlRecorder] = [hpa]
    if args.loadgen:
        out = args.loadgen_out or args.out.with_name(LOADGEN_PODS)
        namespace = args.loadgen_namespace or args.namespace
        recorders.append(LoadgenWatcher(args.loadgen, out, args.interval, kubectl=args.kubectl,
                                        namespace=namespace))  # fmt: skip
    for recorder in recorders:
        recorder.start()
    print(f"bench: hpa: recording {args.name} into {args.out} every {args.interval:g} s"
          + (f", the pods {args.loadgen} into {recorders[-1].path}" if args.loadgen else ""),
          flush=True)  # fmt: skip
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends the recording, not the file
        recorders[0].join(timeout=args.seconds)
    for recorder in recorders:
        recorder.stop()
    print("bench: hpa: " + ", ".join(f"{r.samples} samples in {r.path}" for r in recorders))
    return 0 if any(recorder.samples for recorder in recorders) else 2
