"""`make e2e` for real on the local cluster: the Celsiusify target end to end (image, metrics,
release, helm test, deliveryhero/locust in the cluster, the HPA recording, bench import and
report, the gate, the clean-up); the TF Serving target stops at its image (no TF Serving base
image can be pulled or built here) and its objects go through `kubectl apply --dry-run=server`.

The short shape (3 steps of 40 s) and one Locust worker keep it to a few minutes and within the
local cluster's two CPUs; the standard shape is for clusters with room (kind on a CI runner).
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.helpers.cluster import KUBECONFIG, Run
from tests.helpers.helm import LOCUST_CHART, ROOT

pytestmark = pytest.mark.cluster

NAMESPACE = "celsiusify-e2e-test"
TAG = "e2e-test"
LOCAL = ["--loader", "local-cluster", "--locust-chart", str(LOCUST_CHART), "--namespace",
         NAMESPACE, "--tag", TAG]  # fmt: skip


def make_e2e(out: Path, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """`make e2e` with E2E_ARGS, against the local cluster only (never $KUBECONFIG's)."""
    e2e_args = " ".join([*LOCAL, "--out", str(out), *args])
    env = {**os.environ, "CLUSTER_KUBECONFIG": KUBECONFIG}
    env.pop("KUBECONFIG", None)
    return subprocess.run(
        ["make", "--no-print-directory", "e2e", f"E2E_ARGS={e2e_args}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def preconditions(kube: Run, ctr: Run) -> None:
    """The cluster answers (kube, ctr skip otherwise) and the deliveryhero chart is there. (The
    Locust image comes from scripts/images/locust.sh, or must be in the cluster already: the
    run says so in one line otherwise.)"""
    if not LOCUST_CHART.exists():
        pytest.skip(f"{LOCUST_CHART} is absent: deliveryhero/locust 0.35.0 is read from there")
    assert kube("get", "namespace", NAMESPACE, "--ignore-not-found").stdout.strip() == "", (
        f"namespace {NAMESPACE} is left over from an earlier run"
    )
    assert ctr("version").returncode == 0


def images_in_cluster(ctr: Run) -> list[str]:
    return [name for name in ctr("images", "ls", "-q").stdout.split() if name.endswith(f":{TAG}")]


@pytest.mark.timeout(1800)
def test_make_e2e_on_the_local_cluster(
    preconditions: None, kube: Run, helm: Run, ctr: Run, tmp_path: Path
) -> None:
    out = tmp_path / "e2e"
    # --slo-ms 500: one pod limited to 0.5 CPU on a 2-core machine shared with the cluster and
    # Locust has a p99 near the default 50 ms from CFS throttling alone (46-53 ms measured), so
    # the floor would test the machine, not the gate; here the gate's path is what is checked.
    run = make_e2e(out, "--unbuildable", "server-dry-run", "--shape", "short", "--workers", "1",
                   "--min-capacity", "celsiusify=100", "--slo-ms", "500", timeout=1700)  # fmt: skip
    transcript = run.stdout + run.stderr
    print(transcript[-6000:])
    assert run.returncode == 0, transcript[-8000:]
    # The steps, each done, with their durations (e2e.json keeps them).
    summary = json.loads((out / "e2e.json").read_text())
    assert summary["verdict"] == "PASS"
    assert [s["number"] for s in summary["steps"]] == [1, 2, 3, 4, 5, 7, 8]
    assert {s["status"] for s in summary["steps"]} == {"ok"}
    # The local cluster serves metrics already: metrics-server is left alone, saying so.
    assert "metrics flow already (kubectl top pods answers)" in transcript
    # TF Serving stops at its image, says why, and its objects pass the server-side dry run.
    assert summary["server_dry_run"] == ["tfserving"]
    assert "tfserving: its image cannot be built here" in transcript
    # ... without trying a registry: its base is absent and the local cluster is air-gapped.
    assert "its base tensorflow/serving:" in transcript
    assert "registry-1.docker.io" not in transcript
    # kubectl apply's own words for what the API server validated and admitted:
    assert "deployment.apps/celsiusify-tfserving created (server dry run)" in transcript
    assert "deployment.apps/locust-tfserving-master created (server dry run)" in transcript
    # Celsiusify: helm test passed, Locust ran in the cluster, the HPA went above one replica.
    assert re.search(r"TEST SUITE:\s+celsiusify-test", transcript), transcript[-8000:]
    assert re.search(r"Phase:\s+Succeeded", transcript)
    run_dir = out / "celsiusify"
    with (run_dir / "replicas.csv").open() as handle:
        samples = list(csv.DictReader(handle))
    assert len(samples) >= 10
    assert max(int(row["desired_replicas"] or 0) for row in samples) > 1
    assert "under the top step" in summary["hpa"]["celsiusify"]
    meta = json.loads((run_dir / "meta.json").read_text())
    assert meta["capacity"]["step"]["rps"] >= 100
    assert meta["server_cpus"] >= 0.5  # the CPU limit x the most Ready pods
    with (run_dir / "summary.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == 3  # the short shape's three steps
    for report in ("report.pdf", "report.html", "summary.md", "e2e.md"):
        assert (out / report).stat().st_size > 0, report
    # The clean-up: namespace, releases and the imported images are gone.
    assert kube("get", "namespace", NAMESPACE, "--ignore-not-found").stdout.strip() == ""
    assert helm("list", "--all-namespaces", "-q").stdout.split().count("locust-celsiusify") == 0
    assert images_in_cluster(ctr) == []
    print((out / "e2e.md").read_text())


@pytest.mark.timeout(900)
def test_a_failing_step_stops_the_run_with_its_reason_and_cleans_up(
    preconditions: None, kube: Run, ctr: Run, tmp_path: Path
) -> None:
    """Without --unbuildable server-dry-run the TF Serving image is a failure: exit 1 naming
    it, nothing installed after it, and the API image loaded before it removed again."""
    out = tmp_path / "e2e-fail"
    run = make_e2e(out, "--shape", "short", "--workers", "1", timeout=850)
    transcript = run.stdout + run.stderr
    assert run.returncode != 0, transcript[-4000:]
    assert "e2e: FAILED: tfserving: its image cannot be built here (" in transcript
    assert "--unbuildable server-dry-run stops it there" in transcript
    summary = json.loads((out / "e2e.json").read_text())
    assert summary["verdict"] == "FAIL"
    assert [(s["number"], s["status"]) for s in summary["steps"]] == [
        (1, "ok"), (2, "failed"), (8, "ok"),
    ]  # fmt: skip
    assert kube("get", "namespace", NAMESPACE, "--ignore-not-found").stdout.strip() == ""
    assert images_in_cluster(ctr) == []
