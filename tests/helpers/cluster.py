"""The local test cluster (make cluster-up) for tests/cluster: where its kubeconfig is, its pinned
variables, commands run against it, and waits on what it serves."""

from __future__ import annotations

import os
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from e2e.loaders.local_cluster import cluster_var
from tests.helpers.helm import ROOT

# cluster_var(NAME): the local cluster's pinned variables, read the one way e2e's loader reads them.
__all__ = [
    "CHART_IMAGE",
    "KUBECONFIG",
    "NAMESPACE",
    "NO_CLUSTER",
    "SOURCE_IMAGE",
    "Run",
    "cluster_run",
    "cluster_var",
    "make_env",
    "wait_until_programmed",
]

# Only the local cluster: never $KUBECONFIG, which may name a real one.
KUBECONFIG = os.environ.get(
    "CELSIUSIFY_CLUSTER_KUBECONFIG", "/var/lib/celsiusify-cluster/admin.kubeconfig"
)
NO_CLUSTER = "no local cluster: run make cluster-up"
# The image the chart's defaults run (image.repository:appVersion) and where it comes from.
CHART_IMAGE = "ghcr.io/celsiusify/celsiusify:1.0.0"
SOURCE_IMAGE = os.environ.get("CELSIUSIFY_CLUSTER_SOURCE_IMAGE", "celsiusify:pytest")
NAMESPACE = "celsiusify-cluster-test"
# Pod Security admission (the API server's built-in plugin) on every namespace the tests use:
# "restricted" enforced (a pod that breaks it is refused), audited and warned (a Deployment
# whose pod template breaks it is admitted with a warning, and its pods are then refused).
POD_SECURITY_LABELS = tuple(
    f"pod-security.kubernetes.io/{mode}=restricted" for mode in ("enforce", "audit", "warn")
)

Run = Callable[..., subprocess.CompletedProcess[str]]


def cluster_run(
    *cmd: str, timeout: float = 300, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """A command with the local cluster's kubeconfig, from the repository's root; never raises."""
    env = {**os.environ, "KUBECONFIG": KUBECONFIG}
    return subprocess.run(
        list(cmd),
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        env=env,
        input=stdin,
        cwd=ROOT,
    )


def wait_until_programmed(url: str, timeout: float = 60) -> None:
    """helm --wait returns when the pods are Ready; kube-proxy programs a new Service's rules a
    moment later (measured here: up to a few seconds). Wait for the first answer."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1):
                pass
            return
        except OSError:
            assert time.monotonic() < deadline, f"{url} never answered"
            time.sleep(0.2)


def make_env(kubectl: str) -> dict[str, str]:
    """Environment for make targets that run kubectl/helm: only the local cluster's kubeconfig,
    and its own kubectl first on PATH."""
    env = {**os.environ, "KUBECONFIG": KUBECONFIG}
    env["PATH"] = f"{Path(kubectl).parent}{os.pathsep}{env['PATH']}"
    env.pop("MAKEFLAGS", None)
    return env
