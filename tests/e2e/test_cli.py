"""`python -m e2e` refuses, with one line and exit status 2, what it cannot work with:
missing tools, an unreachable cluster, bad options. Nothing here reaches a cluster."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from tests.helpers.e2e import run_e2e

LOADER_FORMS = "e2e: --loader must be kind, minikube, registry=<prefix> or local-cluster"


def one_line(result_output: str) -> str:
    lines = [line for line in result_output.splitlines() if line.startswith("e2e: ")]
    assert len(lines) == 1, result_output
    assert "Traceback" not in result_output
    return lines[0]


def tools_dir(tmp_path: Path, *names: str) -> str:
    """A PATH holding only these stand-ins (they exit 0) and the basics a run needs first."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for name in names:
        script = folder / name
        script.write_text("#!/bin/sh\nexit 0\n")
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(folder)


@pytest.mark.parametrize(
    ("present", "missing", "hint"),
    [
        ((), "docker", "install Docker Engine"),
        (("docker",), "kubectl", "install kubectl"),
        (("docker", "kubectl", "helm", "make"), "kind", "install kind"),
    ],
)
def test_a_missing_tool_is_one_line(
    tmp_path: Path, present: tuple[str, ...], missing: str, hint: str
) -> None:
    results = Path(__file__).parents[2] / "results"
    before = set(results.glob("*-e2e"))  # committed runs are there already
    result = run_e2e("--loader", "kind", env={"PATH": tools_dir(tmp_path, *present), "HELM": ""})
    line = one_line(result.stdout + result.stderr)
    assert result.returncode == 2
    assert line.startswith(f"e2e: {missing} not found: {hint}"), line
    assert set(results.glob("*-e2e")) == before  # nothing written


def test_helm_missing_says_make_helm(tmp_path: Path) -> None:
    result = run_e2e(
        "--loader",
        "kind",
        env={"PATH": tools_dir(tmp_path, "docker", "kubectl"), "HELM": str(tmp_path / "no-helm")},
    )
    assert one_line(result.stdout) == (
        "e2e: helm not found: run `make helm`, or install helm (https://helm.sh/docs/intro/install/)"
    )


def test_an_unreachable_cluster_is_one_line(tmp_path: Path) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("no kubectl on PATH: the context check runs kubectl itself")
    config = tmp_path / "kubeconfig"
    # Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    config.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: gone\n"
        "clusters: [{name: gone, cluster: {server: 'https://127.0.0.1:9'}}]\n"
        "users: [{name: gone, user: {token: not-a-secret}}]\n"
        "contexts: [{name: gone, context: {cluster: gone, user: gone}}]\n"
    )
    path = os.pathsep.join(
        [tools_dir(tmp_path, "docker", "helm", "make", "kind"), str(Path(kubectl).parent)]
    )
    result = run_e2e("--loader", "kind", env={"PATH": path, "KUBECONFIG": str(config), "HELM": ""})
    line = one_line(result.stdout)
    assert result.returncode == 2
    assert line.startswith("e2e: the cluster of context gone does not answer ("), line
    assert line.endswith("start it, or choose another context"), line


def test_no_context_is_one_line(tmp_path: Path) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("no kubectl on PATH: the context check runs kubectl itself")
    empty = tmp_path / "kubeconfig"
    empty.write_text("apiVersion: v1\nkind: Config\n")
    path = os.pathsep.join(
        [tools_dir(tmp_path, "docker", "helm", "make", "kind"), str(Path(kubectl).parent)]
    )
    result = run_e2e("--loader", "kind", env={"PATH": path, "KUBECONFIG": str(empty), "HELM": ""})
    assert result.returncode == 2
    assert one_line(result.stdout).startswith(f"e2e: no current kube context in {empty}")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--loader", "docker"),
            f"{LOADER_FORMS}, not 'docker'",
        ),
        (
            ("--loader", "registry="),
            f"{LOADER_FORMS}, not 'registry='",
        ),
        (
            ("--targets", "celsiusify,triton"),
            "e2e: --targets: choose from celsiusify, tfserving (not ['triton'])",
        ),
        (("--workers", "0"), "e2e: --workers must be at least 1"),
        (
            ("--min-capacity", "celsiusify=fast"),
            "e2e: --min-capacity wants TARGET=RPS, not 'celsiusify=fast'",
        ),
        (
            ("--min-capacity", "triton=100"),
            "e2e: --min-capacity 'triton=100': 'triton' is not one of --targets",
        ),
        (
            ("--standin", "celsiusify"),
            "e2e: --standin 'celsiusify': targets/celsiusify.json declares no stand-in image "
            "(these do: tfserving)",
        ),
        (
            ("--targets", "celsiusify", "--standin", "tfserving"),
            "e2e: --standin 'tfserving' is not one of --targets",
        ),
        (
            ("--max-replicas", "celsiusify=0"),
            "e2e: --max-replicas wants TARGET=N with N >= 1, not 'celsiusify=0'",
        ),
        (
            ("--max-replicas", "triton=2"),
            "e2e: --max-replicas 'triton=2': 'triton' is not one of --targets",
        ),
    ],
)
def test_bad_options_are_one_line(args: tuple[str, ...], message: str) -> None:
    result = run_e2e("--dry-run", *args)
    assert result.returncode == 2
    assert one_line(result.stdout) == message
