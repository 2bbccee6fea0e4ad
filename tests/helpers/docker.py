"""The docker CLI for the image tests: run it, name a base image, build (or skip, saying why)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def docker(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """`docker ARGS`, output captured, never raising on a non-zero exit."""
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def base_image(dockerfile: Path) -> str:
    """The image named by `ARG <NAME>_IMAGE=` or the first FROM of a Dockerfile."""
    text = dockerfile.read_text()
    match = re.search(r"^ARG \w+_IMAGE=(\S+)", text, re.MULTILINE) or re.search(
        r"^FROM (\S+)", text, re.MULTILINE
    )
    assert match, f"no base image in {dockerfile}"
    return match.group(1)


def build(tag: str, dockerfile: Path, context: Path, missing_base_hint: str) -> None:
    """Build `tag` (host network); skip with the hint when the base image is not present."""
    base = base_image(dockerfile)
    if docker("image", "inspect", base, timeout=30).returncode != 0:
        pytest.skip(f"base image {base} is not present locally: {missing_base_hint}")
    result = docker("build", "--network", "host", "-t", tag, "-f", str(dockerfile), str(context))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
