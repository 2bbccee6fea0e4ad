"""(3) CPU metrics: metrics-server from its official chart, pinned, when `kubectl top pods` does
not answer; then the wait until it does (the HPA reads the same Metrics API)."""

from __future__ import annotations

import time

from e2e.context import Context
from e2e.errors import StepFailed
from e2e.steps import Step

METRICS_WAIT_SECONDS = 240


class CpuMetrics(Step):
    """Step 3."""

    number = 3
    name = "CPU metrics"

    def run(self, ctx: Context) -> None:
        """metrics-server when `kubectl top pods` does not answer; then wait for metrics."""
        probe = ctx.plan.metrics_probe()
        if ctx.shell.run(probe, probe=True).ok:
            print("  metrics flow already (kubectl top pods answers): metrics-server left alone")
            return
        repo, install = ctx.plan.metrics_server_install()
        ctx.must(repo, "helm repo add metrics-server")
        ctx.must(install, "metrics-server", timeout=600)
        ctx.outcome.metrics_server_installed = True
        print(f"  waiting up to {METRICS_WAIT_SECONDS} s for metrics (every 5 s):")
        ctx.shell.run(probe, probe=True)
        deadline = time.monotonic() + METRICS_WAIT_SECONDS
        while not ctx.shell.run(probe, quiet=True).ok:
            if time.monotonic() > deadline:
                raise StepFailed(f"no CPU metrics {METRICS_WAIT_SECONDS} s after metrics-server")
            time.sleep(5)
