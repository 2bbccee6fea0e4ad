"""Fixtures for the local test cluster (make cluster-up): kubectl, helm and the API image.

Every test here is marked `cluster` and skips, saying so, when no local cluster answers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "celsiusify-chart"
# Only the local cluster: never $KUBECONFIG, which may name a real one.
KUBECONFIG = os.environ.get(
    "CELSIUSIFY_CLUSTER_KUBECONFIG", "/var/lib/celsiusify-cluster/admin.kubeconfig"
)
NO_CLUSTER = "no local cluster: run make cluster-up"
# The image the chart's defaults run (image.repository:appVersion) and where it comes from.
CHART_IMAGE = "ghcr.io/celsiusify/celsiusify:1.0.0"
SOURCE_IMAGE = os.environ.get("CELSIUSIFY_CLUSTER_SOURCE_IMAGE", "celsiusify:pytest")
NAMESPACE = "celsiusify-cluster-test"

Run = Callable[..., subprocess.CompletedProcess[str]]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.cluster)


def cluster_var(name: str) -> str:
    """A variable of scripts/cluster-versions.sh / cluster-env.sh (paths follow the pinned set)."""
    script = f"source scripts/cluster-versions.sh; source scripts/cluster-env.sh; echo ${name}"
    out = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return out.stdout.strip()


def _run(
    *cmd: str, timeout: float = 300, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
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


@pytest.fixture(scope="session")
def kubectl() -> str:
    """The cluster's own kubectl (same release as the API server), else kubectl on PATH."""
    built = Path(cluster_var("K8S_BIN")) / "kubectl"
    binary = str(built) if built.exists() else shutil.which("kubectl")
    if binary is None:
        pytest.skip("no kubectl: run make cluster-build")
    if not Path(KUBECONFIG).exists():
        pytest.skip(f"{NO_CLUSTER} ({KUBECONFIG} does not exist)")
    ready = _run(binary, "get", "--raw", "/readyz", timeout=15)
    if ready.returncode != 0:
        pytest.skip(f"{NO_CLUSTER} (API server: {ready.stderr.strip()[-200:]})")
    return binary


@pytest.fixture(scope="session")
def kube(kubectl: str) -> Run:
    """kubectl against the local cluster; returns the completed process."""

    def run(
        *args: str, timeout: float = 300, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return _run(kubectl, *args, timeout=timeout, stdin=stdin)

    return run


@pytest.fixture(scope="session")
def helm(kubectl: str) -> Run:
    """helm ($HELM, PATH, or .tools/bin/helm) against the local cluster."""
    local = ROOT / ".tools" / "bin" / "helm"
    binary = (
        os.environ.get("HELM") or shutil.which("helm") or (str(local) if local.exists() else None)
    )
    if binary is None:
        pytest.skip("no helm binary: run make helm")

    def run(*args: str, timeout: float = 400) -> subprocess.CompletedProcess[str]:
        return _run(binary, "--kubeconfig", KUBECONFIG, *args, timeout=timeout)

    return run


@pytest.fixture(scope="session")
def ctr() -> Run:
    """ctr on the cluster's own containerd (namespace k8s.io, the one the kubelet uses)."""
    binary = Path(cluster_var("CONTAINERD_BIN")) / "ctr"
    sock = cluster_var("CONTAINERD_SOCK")
    if not binary.exists() or not Path(sock).exists():
        pytest.skip(f"{NO_CLUSTER} (no containerd socket {sock})")

    def run(
        *args: str, timeout: float = 300, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return _run(
            str(binary), "--address", sock, "-n", "k8s.io", *args, timeout=timeout, stdin=stdin
        )

    return run


@pytest.fixture(scope="session")
def api_image(ctr: Run) -> str:
    """The API image under the chart's default name in the cluster's containerd (no registry):
    `docker save` of the image the Docker tests build, imported with ctr, then tagged.
    Imported every session: one already there under that name may be an older build."""
    docker = shutil.which("docker")
    if (
        docker is None
        or subprocess.run(
            [docker, "image", "inspect", SOURCE_IMAGE], capture_output=True, check=False
        ).returncode
    ):
        pytest.skip(f"API image {SOURCE_IMAGE} not in Docker: run the Docker tests or make image")
    save = subprocess.Popen([docker, "save", SOURCE_IMAGE], stdout=subprocess.PIPE)
    assert save.stdout is not None
    binary, sock = Path(cluster_var("CONTAINERD_BIN")) / "ctr", cluster_var("CONTAINERD_SOCK")
    imported = subprocess.run(
        [str(binary), "--address", sock, "-n", "k8s.io", "images", "import", "-"],
        stdin=save.stdout,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    save.wait()
    assert imported.returncode == 0, imported.stderr
    name = SOURCE_IMAGE if "/" in SOURCE_IMAGE else f"docker.io/library/{SOURCE_IMAGE}"
    tagged = ctr("images", "tag", "--force", name, CHART_IMAGE)
    assert tagged.returncode == 0, tagged.stderr
    return CHART_IMAGE


@pytest.fixture(scope="module")
def namespace(kube: Run) -> Iterator[str]:
    """A namespace of the tests' own, deleted afterwards."""
    kube("delete", "namespace", NAMESPACE, "--ignore-not-found", "--wait=true", timeout=180)
    created = kube("create", "namespace", NAMESPACE)
    assert created.returncode == 0, created.stderr
    yield NAMESPACE
    kube("delete", "namespace", NAMESPACE, "--ignore-not-found", "--wait=true", timeout=180)


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


@pytest.fixture(scope="session")
def helm_binary(kubectl: str) -> str:
    """The helm binary the `helm` fixture runs (for make targets that take HELM=)."""
    local = ROOT / ".tools" / "bin" / "helm"
    binary = (
        os.environ.get("HELM") or shutil.which("helm") or (str(local) if local.exists() else None)
    )
    if binary is None:
        pytest.skip("no helm binary: run make helm")
    return str(Path(binary).resolve())


@pytest.fixture(scope="session")
def locust_image(ctr: Run) -> str:
    """locust/values.yaml's image (locustio/locust:<pin>) in the cluster's containerd:
    scripts/locust-image.sh --import builds it with Docker when its cached archive is stale
    (cluster-build.sh and cluster-up.sh normally did both already) and imports it if absent."""
    docker = shutil.which("docker")
    engine = docker and subprocess.run([docker, "info"], capture_output=True, check=False)
    if not engine or engine.returncode:
        pytest.skip("no Docker engine to build the Locust image (scripts/locust-image.sh)")
    made = subprocess.run(
        ["bash", "scripts/locust-image.sh", "--import"],
        capture_output=True, text=True, timeout=900, cwd=ROOT, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr[-3000:]
    values = (ROOT / "locust" / "values.yaml").read_text()
    image = values.split("\nimage:\n", 1)[1]
    repository = image.split("repository:", 1)[1].split()[0]
    tag = image.split("tag:", 1)[1].split()[0]
    listed = ctr("images", "ls", "-q").stdout.split()
    assert f"docker.io/{repository}:{tag}" in listed, listed
    return f"{repository}:{tag}"


def make_env(kubectl: str) -> dict[str, str]:
    """Environment for make targets that run kubectl/helm: only the local cluster's kubeconfig,
    and its own kubectl first on PATH."""
    env = {**os.environ, "KUBECONFIG": KUBECONFIG}
    env["PATH"] = f"{Path(kubectl).parent}{os.pathsep}{env['PATH']}"
    env.pop("MAKEFLAGS", None)
    return env
