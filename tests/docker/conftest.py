"""Docker fixtures: skip (saying why) unless an engine answers; build images once."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def docker(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
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


@pytest.fixture(scope="session")
def docker_engine() -> None:
    if shutil.which("docker") is None:
        pytest.skip("docker CLI not installed")
    info = docker("info", "--format", "{{.ServerVersion}}", timeout=30)
    if info.returncode != 0:
        pytest.skip(f"no Docker engine reachable: {info.stderr.strip()[:200]}")


def build(tag: str, dockerfile: Path, context: Path, missing_base_hint: str) -> None:
    base = base_image(dockerfile)
    if docker("image", "inspect", base, timeout=30).returncode != 0:
        pytest.skip(f"base image {base} is not present locally: {missing_base_hint}")
    result = docker("build", "--network", "host", "-t", tag, "-f", str(dockerfile), str(context))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.fixture(scope="session")
def api_image(docker_engine: None) -> str:
    tag = "celsiusify:pytest"
    build(tag, ROOT / "Dockerfile", ROOT, "run scripts/make-base-image.sh (.ci/run does)")
    return tag
