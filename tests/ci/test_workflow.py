"""The GitHub workflow: schema-valid, zizmor-clean, SHA-pinned, least privilege."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
BIN = Path(sys.executable).parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=False, cwd=ROOT)


def test_schema_valid() -> None:
    result = run(
        str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_finds_nothing() -> None:
    result = run(str(BIN / "zizmor"), "--offline", str(WORKFLOW))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings" in result.stdout + result.stderr


def test_actions_pinned_to_full_sha() -> None:
    uses = re.findall(r"uses:\s*(\S+)", WORKFLOW.read_text())
    assert uses
    for action in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", action), action


def test_least_privilege() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    assert workflow["permissions"] == {}
    jobs = workflow["jobs"]
    assert set(jobs) == {"lint", "test", "hadolint", "chart", "image"}
    for name, job in jobs.items():
        expected = (
            {"contents": "read", "packages": "write"} if name == "image" else {"contents": "read"}
        )
        assert job["permissions"] == expected, name
        for step in job["steps"]:
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False


def test_image_pushes_only_on_push_events() -> None:
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["image"]["steps"]
    build = next(step for step in steps if "build-push-action" in step["uses"])
    assert build["with"]["push"] == "${{ github.event_name == 'push' }}"
    assert "cache-from" in build["with"]
    on = yaml.safe_load(WORKFLOW.read_text())[True]  # YAML 1.1 reads `on` as True
    assert on["push"]["branches"] == ["main"]
    assert on["push"]["tags"]
