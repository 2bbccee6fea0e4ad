"""helm for the chart, Locust and e2e tests: find the binary, run it, render the chart; the --set
values and the Locust chart more than one of them uses."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "celsiusify-chart"
# deliveryhero/locust 0.35.0, packaged from deliveryhero/helm-charts beside the project (never
# copied into it; no chart repository is reachable from these machines).
LOCUST_CHART = ROOT.parent / "shared" / "charts" / "locust-0.35.0.tgz"

Objects = list[dict[str, Any]]
# --set values more than one chart test renders with: an image digest (a placeholder), and the
# monitoring objects rendered even without the Prometheus Operator's CRDs in the cluster.
DIGEST = "sha256:" + "0123456789abcdef" * 4
MONITORING_FORCED = (
    "metrics.serviceMonitor.enabled=true",
    "metrics.serviceMonitor.force=true",
    "metrics.prometheusRule.enabled=true",
    "metrics.prometheusRule.force=true",
)


def find_helm() -> str | None:
    """$HELM, else helm on PATH, else the one `make helm` fetches."""
    local = ROOT / ".tools" / "bin" / "helm"
    return (
        os.environ.get("HELM") or shutil.which("helm") or (str(local) if local.exists() else None)
    )


def run_helm(helm: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`helm ARGS` from the repository's root, output captured, never raising."""
    return subprocess.run([helm, *args], capture_output=True, text=True, check=False, cwd=ROOT)


def render_chart(
    helm: str,
    *values_files: str,
    sets: tuple[str, ...] = (),
    json_sets: tuple[str, ...] = (),
    release: str = "demo",
    namespace: str = "bench",
) -> Objects:
    """`helm template` of the chart with values files and --set (--set-json) pairs; fail with
    helm's stderr."""
    args = ["template", release, str(CHART), "--namespace", namespace]
    for values_file in values_files:
        args += ["-f", str(ROOT / values_file)]
    for pair in sets:
        args += ["--set", pair]
    for pair in json_sets:
        args += ["--set-json", pair]
    result = run_helm(helm, *args)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]
