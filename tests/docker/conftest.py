"""Docker fixtures: skip (saying why) unless an engine answers; build images once."""

from __future__ import annotations

import shutil

import pytest

from tests.helpers.docker import ROOT, build, docker


@pytest.fixture(scope="session")
def docker_engine() -> None:
    if shutil.which("docker") is None:
        pytest.skip("docker CLI not installed")
    info = docker("info", "--format", "{{.ServerVersion}}", timeout=30)
    if info.returncode != 0:
        pytest.skip(f"no Docker engine reachable: {info.stderr.strip()[:200]}")


@pytest.fixture(scope="session")
def api_image(docker_engine: None) -> str:
    tag = "celsiusify:pytest"
    build(tag, ROOT / "Dockerfile", ROOT, "run scripts/images/base.sh (.ci/run does)")
    return tag
