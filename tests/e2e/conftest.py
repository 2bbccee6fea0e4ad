"""Fixtures for the e2e driver's tests without a cluster: its dry-run plan, parsed."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers.helm import find_helm

ROOT = Path(__file__).resolve().parents[2]
# deliveryhero/locust 0.35.0, packaged beside the project (no chart repository is reachable).
LOCUST_CHART = ROOT.parent / "shared" / "charts" / "locust-0.35.0.tgz"
NAMESPACE = "celsiusify-e2e-plan"
TAG = "e2e-plan"


@dataclass
class Transcript:
    """What `python -m bench e2e --dry-run` printed: its commands (as words) and all lines."""

    returncode: int
    lines: list[str]

    @property
    def commands(self) -> list[list[str]]:
        """Every `  $ …` line, split; a pipeline gives both sides, in order."""
        found = []
        for line in self.lines:
            if line.startswith("  $ "):
                for part in line[4:].split(" | "):
                    found.append(shlex.split(part))
        return found

    def steps(self) -> list[str]:
        """The step headers, in order."""
        return [line for line in self.lines if line.startswith("[") and ": " not in line]


def run_e2e(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """python -m bench e2e with the given options, from the repository's root."""
    return subprocess.run(
        [sys.executable, "-m", "bench", "e2e", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture(scope="session")
def locust_chart() -> Path:
    if not LOCUST_CHART.exists():
        pytest.skip(
            f"{LOCUST_CHART} is absent: deliveryhero/locust 0.35.0 is read from ../shared/charts/"
        )
    return LOCUST_CHART


@pytest.fixture(scope="session")
def e2e_helm() -> str:
    binary = find_helm()
    if binary is None:
        pytest.skip("no helm binary: put helm on PATH or run `make helm` (make test does)")
    return binary


@pytest.fixture(scope="session")
def dry_run(locust_chart: Path, e2e_helm: str) -> Callable[..., Transcript]:
    """The plan for given extra options (cached per option list)."""
    cache: dict[tuple[str, ...], Transcript] = {}

    def plan(*extra: str) -> Transcript:
        if extra not in cache:
            result = run_e2e(
                "--dry-run",
                "--namespace",
                NAMESPACE,
                "--tag",
                TAG,
                "--locust-chart",
                str(locust_chart),
                *extra,
                env={"HELM": e2e_helm},
            )
            cache[extra] = Transcript(
                result.returncode, (result.stdout + result.stderr).splitlines()
            )
        return cache[extra]

    return plan
