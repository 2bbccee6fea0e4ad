"""checkov's Kubernetes policies over the rendered chart, in a named namespace.

The chart as a careful user installs it (examples/network-policy.yaml, an image digest,
monitoring on) fails none; two are skipped, each with its reason in the chart (the `helm test`
pod's checkov.io/skip annotations: a pod that runs once has no probes). With bare defaults only
what values switch on remains: NetworkPolicy (off by default) and the digest (unknown until the
image is built).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers.helm import CHART, DIGEST, MONITORING_FORCED, ROOT, run_helm

pytestmark = pytest.mark.helm

CHECKOV = Path(sys.executable).parent / "checkov"
NAMESPACE = "celsiusify"
HARDENED = (
    "-f", "celsiusify-chart/examples/network-policy.yaml",
    "--set", f"image.digest={DIGEST}",
    "--set", "dashboard.enabled=true",
    *(arg for pair in MONITORING_FORCED for arg in ("--set", pair)),
)  # fmt: skip
# The only checks the chart answers with a reason instead of a fix: Pod, check id.
JUSTIFIED = {("celsiusify-test-convert", "CKV_K8S_8"), ("celsiusify-test-convert", "CKV_K8S_9")}
# What bare defaults still fail, each switched by a value.
SWITCHED_BY_VALUES = {
    "CKV_K8S_43": "image.digest",  # image by digest
    "CKV_K8S_15": "image.digest",  # IfNotPresent is fine once the reference is a digest
    "CKV2_K8S_6": "networkPolicy.enabled",
}


def checkov(folder: Path) -> dict[str, Any]:
    """checkov's Kubernetes framework on a folder of manifests, offline; its JSON report."""
    result = subprocess.run(
        [str(CHECKOV), "--directory", str(folder), "--framework", "kubernetes", "--output", "json",
         "--skip-download", "--compact"],
        capture_output=True, text=True, check=False, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr[-2000:]
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def unscanned(folder: Path) -> set[str]:
    """Files checkov passes over without a word: it takes any '{{' for an unrendered Helm template
    (checkov/kubernetes/parser/k8_yaml.py). Alert and legend templates are Prometheus's and
    Grafana's, so those objects are rendered each to a file of its own and named here."""
    return {path.name for path in folder.rglob("*.yaml") if "{{" in path.read_text()}


@pytest.fixture(scope="module")
def scan(
    helm: str, tmp_path_factory: pytest.TempPathFactory
) -> Callable[..., tuple[dict[str, Any], set[str]]]:
    if not CHECKOV.exists():
        pytest.skip("checkov is not installed in this environment: make install")

    def _scan(*args: str) -> tuple[dict[str, Any], set[str]]:
        folder = tmp_path_factory.mktemp("checkov")
        rendered = run_helm(
            helm, "template", "celsiusify", str(CHART), "--namespace", NAMESPACE,
            "--output-dir", str(folder), *args,
        )  # fmt: skip
        assert rendered.returncode == 0, rendered.stderr
        report = checkov(folder)
        # Every pod was read: checkov reports no check on kinds it has none for (HPA, PDB, …).
        scanned = {c["file_path"].rsplit("/", 1)[-1] for kind in ("passed", "failed", "skipped")
                   for c in report["results"][f"{kind}_checks"]}  # fmt: skip
        assert {"deployment.yaml", "test-convert.yaml"} <= scanned, scanned
        assert report["summary"]["parsing_errors"] == 0
        return report, unscanned(folder)

    return _scan


def summary(report: dict[str, Any]) -> dict[str, int]:
    return {key: report["summary"][key] for key in ("passed", "failed", "skipped")}


def test_hardened_install_fails_no_check(scan: Callable[..., Any]) -> None:
    report, skipped_files = scan(*HARDENED)
    assert skipped_files == {"prometheusrule.yaml", "dashboard.yaml"}  # no pods in either
    failed = [(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]]
    assert failed == []
    assert summary(report)["passed"] > 150
    skipped = report["results"]["skipped_checks"]
    assert {(c["resource"].split(".")[-1], c["check_id"]) for c in skipped} == JUSTIFIED
    for check in skipped:
        assert "runs once to completion" in check["check_result"]["suppress_comment"]


def test_defaults_fail_only_what_values_switch_on(scan: Callable[..., Any]) -> None:
    report, skipped_files = scan()
    assert not skipped_files
    failed = {c["check_id"] for c in report["results"]["failed_checks"]}
    assert failed <= set(SWITCHED_BY_VALUES), failed
    assert summary(report)["skipped"] == len(JUSTIFIED)


def test_skip_reasons_are_one_line_each() -> None:
    template = (CHART / "templates" / "tests" / "test-convert.yaml").read_text()
    annotations = [line.strip() for line in template.splitlines() if "checkov.io/skip" in line]
    assert len(annotations) == len(JUSTIFIED)
    for line in annotations:
        value = yaml.safe_load(line.split(":", 1)[1])
        check_id, reason = value.split("=")  # checkov splits on "=": one, exactly
        assert check_id.startswith("CKV_K8S_")
        assert len(reason) > 30
