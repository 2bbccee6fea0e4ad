"""Helm fixtures: the binary (PATH, else .tools/bin/helm from `make helm`) and rendering."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "celsiusify-chart"

Objects = list[dict[str, Any]]


def find_helm() -> str | None:
    """$HELM, else helm on PATH, else the one `make helm` fetches."""
    local = ROOT / ".tools" / "bin" / "helm"
    return (
        os.environ.get("HELM") or shutil.which("helm") or (str(local) if local.exists() else None)
    )


@pytest.fixture(scope="session")
def helm() -> str:
    binary = find_helm()
    if binary is None:
        pytest.skip("no helm binary: put helm on PATH or run `make helm` (make test does)")
    return binary


def run_helm(helm: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([helm, *args], capture_output=True, text=True, check=False, cwd=ROOT)


@pytest.fixture(scope="session")
def render(helm: str) -> Callable[..., Objects]:
    """Render the chart with values files and --set pairs; fail with helm's stderr."""

    def _render(
        *values_files: str,
        sets: tuple[str, ...] = (),
        release: str = "demo",
        namespace: str = "bench",
    ) -> Objects:
        args = ["template", release, str(CHART), "--namespace", namespace]
        for values_file in values_files:
            args += ["-f", str(ROOT / values_file)]
        for pair in sets:
            args += ["--set", pair]
        result = run_helm(helm, *args)
        assert result.returncode == 0, result.stderr
        return [doc for doc in yaml.safe_load_all(result.stdout) if doc]

    return _render


def by_kind(objects: Objects, kind: str) -> list[dict[str, Any]]:
    return [obj for obj in objects if obj["kind"] == kind]


def one(objects: Objects, kind: str) -> dict[str, Any]:
    (obj,) = by_kind(objects, kind)
    return obj
