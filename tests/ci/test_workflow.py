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


# --- supply chain (issue 14) ---------------------------------------------------------------------


def image_steps() -> list[dict[str, object]]:
    steps: list[dict[str, object]] = yaml.safe_load(WORKFLOW.read_text())["jobs"]["image"]["steps"]
    return steps


def test_image_carries_sbom_and_provenance() -> None:
    builds = [step for step in image_steps() if "build-push-action" in str(step.get("uses"))]
    pushed = builds[0]["with"]
    assert isinstance(pushed, dict)
    assert pushed["sbom"] is True
    assert pushed["provenance"] == "mode=max"


def test_scan_fails_on_fixable_critical_findings_of_the_built_image() -> None:
    steps = image_steps()
    (scan,) = [
        step for step in steps if str(step.get("uses", "")).startswith("anchore/scan-action@")
    ]
    options = scan["with"]
    assert isinstance(options, dict)
    assert options["fail-build"] is True
    assert options["severity-cutoff"] == "critical"
    assert options["only-fixed"] is True
    loaded = [
        step["with"] for step in steps
        if "build-push-action" in str(step.get("uses")) and isinstance(step["with"], dict)
        and step["with"].get("load") is True
    ]  # fmt: skip
    assert [build["tags"] for build in loaded] == [options["image"]]
    # The chart is published only after the scan passed.
    chart_push = next(i for i, step in enumerate(steps) if "helm push" in str(step.get("run")))
    assert steps.index(scan) < chart_push


def test_chart_pushed_to_ghcr_as_oci_on_version_tags_only() -> None:
    (push,) = [step for step in image_steps() if "helm push" in str(step.get("run"))]
    assert push["if"] == "startsWith(github.ref, 'refs/tags/v')"
    assert "oci://ghcr.io/${owner}/charts" in str(push["run"])
    assert "--password-stdin" in str(push["run"])  # the token never on a command line
    assert "${{" not in str(push["run"])  # values reach the script through env only


def test_pip_audit_covers_both_requirements_files() -> None:
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["lint"]["steps"]
    (audit,) = [step for step in steps if "pip-audit" in str(step.get("run"))]
    command = str(audit["run"])
    assert re.search(r"pip-audit==\d+\.\d+\.\d+", command)  # pinned
    assert "--requirement requirements.txt" in command
    assert "--requirement requirements-dev.txt" in command


def test_every_job_has_a_timeout_and_one_python_version() -> None:
    jobs = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    for name, job in jobs.items():
        assert isinstance(job.get("timeout-minutes"), int), name
        assert 0 < job["timeout-minutes"] <= 60, name
        for step in job["steps"]:
            if str(step.get("uses", "")).startswith("actions/setup-python@"):
                assert step["with"] == {"python-version-file": ".python-version"}, name
    # The one place, and it agrees with the project's own metadata and image.
    version = (ROOT / ".python-version").read_text().strip()
    assert re.search(
        rf'requires-python = ">={re.escape(version)}"', (ROOT / "pyproject.toml").read_text()
    )
    assert f"python:{version}." in (ROOT / "Dockerfile").read_text()
