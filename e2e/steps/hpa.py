"""(6) Recorded while Locust loads a target: its HPA (bench.measure.hpa's recorder writes
replicas.csv, as `bench run --kube-hpa` does) and the Locust worker pods' CPU from the metrics API
(bench.measure.loadgen's, loadgen_pods.csv), so the import can tell whether the load generator,
not the server, was the limit. The Locust step copies both into the results (bench import reads
replicas.csv with --replicas, loadgen_pods.csv from the folder)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from bench.measure.hpa import HpaWatcher
from bench.measure.loadgen import LoadgenWatcher, worker_selector
from e2e.context import Context
from targets import Target

SAMPLE_SECONDS = 5.0


@contextlib.contextmanager
def recording(ctx: Context, target: Target, replicas: Path, workers: Path) -> Iterator[None]:
    """Record the target's HPA into `replicas` and its Locust workers' CPU into `workers` while
    the block runs."""
    print(
        f"  recording the HPA {target.release} every {SAMPLE_SECONDS:g} s into replicas.csv "
        f"(bench.measure.hpa: kubectl get hpa {target.release} -o json, then its Deployment)"
    )
    selector = worker_selector(target.locust_release)
    print(
        f"  recording the Locust workers' CPU every {SAMPLE_SECONDS:g} s into loadgen_pods.csv "
        f"(bench.measure.loadgen: kubectl get pods.metrics.k8s.io -l {selector} -o json)"
    )
    kubectl = ctx.plan.tools.kubectl
    hpa = HpaWatcher(target.release, replicas, SAMPLE_SECONDS, kubectl=kubectl)
    loadgen = LoadgenWatcher(selector, workers, SAMPLE_SECONDS, kubectl=kubectl)
    with ctx.shell.background(hpa), ctx.shell.background(loadgen):
        yield
