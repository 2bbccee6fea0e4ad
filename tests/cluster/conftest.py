"""Fixtures for the local test cluster (make cluster-up): kubectl, helm and the API image.

Every test here is marked `cluster` and skips, saying so, when no local cluster answers.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.cluster import (
    CHART_IMAGE,
    KUBECONFIG,
    NAMESPACE,
    NO_CLUSTER,
    POD_SECURITY_LABELS,
    SOURCE_IMAGE,
    Run,
    cluster_run,
    cluster_var,
)
from tests.helpers.helm import ROOT, find_helm


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.cluster)


@pytest.fixture(scope="session")
def kubectl() -> str:
    """The cluster's own kubectl (same release as the API server), else kubectl on PATH."""
    built = Path(cluster_var("K8S_BIN")) / "kubectl"
    binary = str(built) if built.exists() else shutil.which("kubectl")
    if binary is None:
        pytest.skip("no kubectl: run make cluster-build")
    if not Path(KUBECONFIG).exists():
        pytest.skip(f"{NO_CLUSTER} ({KUBECONFIG} does not exist)")
    ready = cluster_run(binary, "get", "--raw", "/readyz", timeout=15)
    if ready.returncode != 0:
        pytest.skip(f"{NO_CLUSTER} (API server: {ready.stderr.strip()[-200:]})")
    return binary


@pytest.fixture(scope="session")
def kube(kubectl: str) -> Run:
    """kubectl against the local cluster; returns the completed process."""

    def run(
        *args: str, timeout: float = 300, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return cluster_run(kubectl, *args, timeout=timeout, stdin=stdin)

    return run


@pytest.fixture(scope="session")
def helm(kubectl: str) -> Run:
    """helm ($HELM, PATH, or .tools/bin/helm) against the local cluster."""
    binary = find_helm()
    if binary is None:
        pytest.skip("no helm binary: run make helm")

    def run(*args: str, timeout: float = 400) -> subprocess.CompletedProcess[str]:
        return cluster_run(binary, "--kubeconfig", KUBECONFIG, *args, timeout=timeout)

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
        return cluster_run(
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
    """A namespace of the tests' own, Pod Security "restricted" enforced, deleted afterwards."""
    kube("delete", "namespace", NAMESPACE, "--ignore-not-found", "--wait=true", timeout=180)
    created = kube("create", "namespace", NAMESPACE)
    assert created.returncode == 0, created.stderr
    labelled = kube("label", "namespace", NAMESPACE, *POD_SECURITY_LABELS)
    assert labelled.returncode == 0, labelled.stderr
    yield NAMESPACE
    kube("delete", "namespace", NAMESPACE, "--ignore-not-found", "--wait=true", timeout=180)


@pytest.fixture(scope="session")
def helm_binary(kubectl: str) -> str:
    """The helm binary the `helm` fixture runs (for make targets that take HELM=)."""
    binary = find_helm()
    if binary is None:
        pytest.skip("no helm binary: run make helm")
    return str(Path(binary).resolve())


@pytest.fixture(scope="session")
def locust_image(ctr: Run) -> str:
    """locust/values.yaml's image (locustio/locust:<pin>) in the cluster's containerd:
    scripts/images/locust.sh --import builds it with Docker when its cached archive is stale
    (scripts/cluster/build.sh and up.sh normally did both already) and imports it if absent."""
    docker = shutil.which("docker")
    engine = docker and subprocess.run([docker, "info"], capture_output=True, check=False)
    if not engine or engine.returncode:
        pytest.skip("no Docker engine to build the Locust image (scripts/images/locust.sh)")
    made = subprocess.run(
        ["bash", "scripts/images/locust.sh", "--import"],
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
