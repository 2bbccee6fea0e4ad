"""make e2e on an air-gapped cluster: the bases a build would pull; the SLO it imports with."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from e2e.loaders.local_cluster import base_images

ROOT = Path(__file__).resolve().parents[2]


def test_the_project_dockerfiles_bases() -> None:
    assert base_images((ROOT / "Dockerfile").read_text()) == ["python:3.11.14-slim-bookworm"]
    assert base_images((ROOT / "tfserving" / "Dockerfile").read_text()) == [
        "tensorflow/serving:2.18.0"
    ]


def test_stages_scratch_flags_and_repeats_are_not_bases() -> None:
    dockerfile = (
        "ARG BASE=debian:12.8\n"
        "FROM ${BASE} AS builder\n"
        "FROM builder AS test\n"
        "FROM --platform=linux/amd64 $BASE\n"
        "FROM scratch\n"
        "FROM golang:1.26 AS tools\n"
    )
    assert base_images(dockerfile) == ["debian:12.8", "golang:1.26"]


def test_the_slo_reaches_bench_import() -> None:
    def imports(*extra: str) -> list[str]:
        out = subprocess.run(
            [sys.executable, "-m", "e2e", "--dry-run", *extra],
            cwd=ROOT, capture_output=True, text=True, check=False, timeout=120,
        )  # fmt: skip
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
        return [line for line in out.stdout.splitlines() if " -m bench import " in line]

    default, loose = imports(), imports("--slo-ms", "500")
    assert len(default) == 2
    assert all("--slo-ms 50 " in line for line in default)
    assert len(loose) == 2
    assert all("--slo-ms 500 " in line for line in loose)
