"""Dockerfiles and .dockerignore, checked without an engine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILES = [ROOT / "Dockerfile", ROOT / "tfserving" / "Dockerfile"]


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: str(path.relative_to(ROOT)))
def test_hadolint_finds_nothing(dockerfile: Path) -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    result = subprocess.run(
        [str(hadolint), str(dockerfile)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_api_dockerfile_shape() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "ARG PYTHON_IMAGE=python:3.11" in text
    assert "slim-bookworm" in text
    assert ":latest" not in text
    assert text.count("FROM ") == 2
    assert text.index("COPY requirements.txt") < text.index("COPY app/")
    assert "USER ${APP_UID}:${APP_GID}" in text
    assert "EXPOSE 8080" in text
    assert 'CMD ["python", "-m", "app"' in text


def test_dockerignore_keeps_the_context_small() -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    rules = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert rules[0] == "*"
    assert set(rules) >= {"!requirements.txt", "!app/"}
    assert "!requirements-dev.txt" not in rules
