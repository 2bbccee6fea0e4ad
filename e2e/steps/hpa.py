"""(6) The HPA recorded while Locust loads a target: bench.measure.hpa's recorder writes
replicas.csv beside the run, as `bench run --kube-hpa` does, and the Locust step copies it into the
results (bench import reads it with --replicas)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from bench.measure.hpa import HpaWatcher
from e2e.context import Context
from targets import Target

SAMPLE_SECONDS = 5.0


@contextlib.contextmanager
def recording(ctx: Context, target: Target, replicas: Path) -> Iterator[None]:
    """Record the target's HPA into `replicas` while the block runs."""
    print(
        f"  recording the HPA {target.release} every {SAMPLE_SECONDS:g} s into replicas.csv "
        f"(bench.measure.hpa: kubectl get hpa {target.release} -o json, then its Deployment)"
    )
    watcher = HpaWatcher(target.release, replicas, SAMPLE_SECONDS, kubectl=ctx.plan.tools.kubectl)
    with ctx.shell.background(watcher):
        yield
