"""The e2e GitHub workflow: schema-valid, zizmor-clean, actions pinned by full SHA, least
privilege, a timeout, and it runs `make e2e` on the committed kind config, uploads the results
folder and writes the headline table to the job summary. (It has never run here: no GitHub.)"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "e2e.yml"
BIN = Path(sys.executable).parent


def workflow() -> dict[Any, Any]:
    document: dict[Any, Any] = yaml.safe_load(WORKFLOW.read_text())
    return document


def steps() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = workflow()["jobs"]["e2e"]["steps"]
    return found


def test_schema_valid_and_zizmor_clean() -> None:
    schema = subprocess.run(
        [
            str(BIN / "check-jsonschema"),
            "--builtin-schema",
            "vendor.github-workflows",
            str(WORKFLOW),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert schema.returncode == 0, schema.stdout + schema.stderr
    zizmor = subprocess.run(
        [str(BIN / "zizmor"), "--offline", str(WORKFLOW)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert zizmor.returncode == 0, zizmor.stdout + zizmor.stderr
    assert "No findings" in zizmor.stdout + zizmor.stderr


def test_triggers_permissions_timeout() -> None:
    on = workflow()[True]  # YAML 1.1 reads `on` as True
    assert on["push"]["branches"] == ["main"]
    assert on["push"]["tags"]
    assert "workflow_dispatch" in on
    assert "pull_request" not in on
    assert workflow()["permissions"] == {}
    job = workflow()["jobs"]["e2e"]
    assert job["permissions"] == {"contents": "read"}
    assert 0 < job["timeout-minutes"] <= 90


def test_actions_pinned_by_full_sha_and_checkout_keeps_no_credentials() -> None:
    uses = [step["uses"] for step in steps() if "uses" in step]
    assert any(u.startswith("helm/kind-action@") for u in uses)
    for action in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", action), action
    checkout = next(
        step for step in steps() if step.get("uses", "").startswith("actions/checkout@")
    )
    assert checkout["with"]["persist-credentials"] is False
    python = next(
        step for step in steps() if step.get("uses", "").startswith("actions/setup-python@")
    )
    assert python["with"] == {"python-version-file": ".python-version"}


def test_kind_from_the_committed_config_then_make_e2e_then_summary_and_artifact() -> None:
    names = [step.get("uses", step.get("run", "")) for step in steps()]
    kind = next(step for step in steps() if step.get("uses", "").startswith("helm/kind-action@"))
    assert kind["with"]["config"] == "e2e/values/kind-config.yaml"
    assert (ROOT / kind["with"]["config"]).is_file()
    config = yaml.safe_load((ROOT / "e2e" / "values" / "kind-config.yaml").read_text())
    assert kind["with"]["cluster_name"] == config["name"]
    assert re.fullmatch(r"v\d+\.\d+\.\d+", kind["with"]["version"])
    run = next(step for step in steps() if "make e2e" in step.get("run", ""))
    assert f"--kind-name {config['name']}" in run["run"]
    assert '"dir=$out" >> "$GITHUB_OUTPUT"' in run["run"]
    summary = next(step for step in steps() if "GITHUB_STEP_SUMMARY" in step.get("run", ""))
    assert "e2e.md" in summary["run"]
    upload = next(
        step for step in steps() if step.get("uses", "").startswith("actions/upload-artifact@")
    )
    assert upload["with"]["path"] == "${{ steps.e2e.outputs.dir }}"
    for step in (summary, upload):
        assert "always()" in step["if"]  # a failed run still shows and keeps what it found
    order = [names.index(kind["uses"]), names.index(run["run"]), names.index(upload["uses"])]
    assert order == sorted(order)
