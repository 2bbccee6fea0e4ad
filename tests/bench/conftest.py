"""Fixtures for the report tests: copies of the committed reference runs (CSVs as committed)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOCAL_RUN = ROOT / "results" / "20261122T032938Z-celsiusify"
DOCKER_RUN = ROOT / "results" / "20261122T034717Z-celsiusify-docker-0.25cpu"
RUN_INPUTS = ("*_stats.csv", "*_stats_history.csv", "*_failures.csv", "cpu.csv", "summary.csv",
              "meta.json")  # fmt: skip


def copy_run(source: Path, destination: Path) -> Path:
    """The inputs of a results folder (not its report) copied to destination."""
    destination.mkdir(parents=True)
    for pattern in RUN_INPUTS:
        for path in source.glob(pattern):
            shutil.copy(path, destination / path.name)
    return destination


@pytest.fixture
def local_run(tmp_path: Path) -> Path:
    """The committed `make bench` run (generator-limited: a lower bound)."""
    return copy_run(LOCAL_RUN, tmp_path / LOCAL_RUN.name)


@pytest.fixture
def docker_run(tmp_path: Path) -> Path:
    """The committed 0.25-CPU Docker run (server-limited)."""
    return copy_run(DOCKER_RUN, tmp_path / DOCKER_RUN.name)
