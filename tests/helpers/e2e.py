"""`python -m e2e` for the driver's tests without a cluster: run it, read its dry-run plan."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The namespace and image tag the dry-run plans are made for.
NAMESPACE = "celsiusify-e2e-plan"
TAG = "e2e-plan"


@dataclass
class Transcript:
    """What `python -m e2e --dry-run` printed: its commands (as words) and all lines."""

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
    """python -m e2e with the given options, from the repository's root."""
    return subprocess.run(
        [sys.executable, "-m", "e2e", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **(env or {})},
    )
