"""`make e2e` for real on the local cluster: both targets end to end (images, metrics, releases
in a namespace enforcing Pod Security "restricted", helm test, deliveryhero/locust in the
cluster, the HPA and the Locust workers' CPU recorded, bench import and report, the gate, the
comparison, the clean-up). TF Serving runs its stand-in image (--standin tfserving: no TF Serving
base image can be pulled or built here), labelled a stand-in everywhere, so the comparison is
refused; the path that stops an unbuildable target at its image and sends its objects through
`kubectl apply --dry-run=server` has a run of its own.

The short shape (3 steps of 40 s) and one Locust worker keep it to a few minutes and within the
local cluster's two CPUs, with the HPAs' maxima lowered to fit them (--max-replicas celsiusify=2,
tfserving=1: 1.5 CPUs requested at the peak, and each target allowed one CPU); the standard shape
and the 4-CPU budget are for clusters with room (kind on a CI runner).
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any

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


# The local cluster's 2 CPUs: each HPA's maximum lowered so both releases at their peak and
# Locust request 1.5 CPUs (2 x 250m + 1 x 500m + 100m + 400m), each target allowed one CPU.
SMALL = ["--shape", "short", "--workers", "1", "--max-replicas", "celsiusify=2",
         "--max-replicas", "tfserving=1"]  # fmt: skip
STANDIN_IMAGE = f"celsiusify-tfserving-standin:{TAG}"


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def check_standin_labelled(out: Path, transcript: str, summary: dict[str, Any]) -> None:
    """TF Serving's stand-in built, loaded, and said to be one: transcript, e2e.json, e2e.md."""
    assert summary["standin"] == ["tfserving"]
    assert summary["server_dry_run"] == []
    assert summary["images"]["tfserving"] == STANDIN_IMAGE
    assert f"tfserving runs a STAND-IN image, {STANDIN_IMAGE}" in transcript
    assert f"**tfserving ran a STAND-IN image, `{STANDIN_IMAGE}`**" in (out / "e2e.md").read_text()


def check_workers_cpu(out: Path, summary: dict[str, Any]) -> None:
    """Each target: its Locust worker's CPU recorded and imported, so its figure is said to be
    server-limited or a lower bound (meta.json, e2e.json's figures)."""
    for target in ("celsiusify", "tfserving"):
        folder = out / target
        workers = read_csv(folder / "loadgen_pods.csv")
        assert workers, f"{target}: no worker CPU recorded"
        assert {row["cpu_limit_millicores"] for row in workers} == {"400.0"}
        meta = json.loads((folder / "meta.json").read_text())
        assert meta["loadgen_cpu_percent"]["max"] > 0, target
        assert "not recorded" not in meta["headline"], target
        assert len(read_csv(folder / "summary.csv")) == 3, target
        figures = summary["figures"][target]
        assert figures.endswith("; server-limited") or "; lower bound: " in figures, figures


def wait_for_other_pods_to_go(kube: Run, timeout: float = 180) -> None:
    """The run's CPU check counts every pod's request on the node: the releases earlier tests
    uninstalled may still be draining (preStop sleep, graceful shutdown). Wait until only
    kube-system's pods are left, so the 1.5 CPUs the run asks for are free."""
    deadline = time.monotonic() + timeout
    while True:
        listed = kube("get", "pods", "-A", "-o",
                      "jsonpath={range .items[*]}{.metadata.namespace}{'\\n'}{end}")  # fmt: skip
        others = [ns for ns in listed.stdout.split() if ns != "kube-system"]
        if not others or time.monotonic() > deadline:
            return
        time.sleep(2)


@pytest.mark.timeout(2400)
def test_make_e2e_on_the_local_cluster(
    preconditions: None, kube: Run, helm: Run, ctr: Run, tmp_path: Path
) -> None:
    out = tmp_path / "e2e"
    wait_for_other_pods_to_go(kube)
    # --slo-ms 500: one pod limited to 0.5 CPU on a 2-core machine shared with the cluster and
    # Locust has a p99 near the default 50 ms from CFS throttling alone (46-53 ms measured), so
    # the floor would test the machine, not the gate; here the gate's path is what is checked.
    run = make_e2e(out, "--standin", "tfserving", *SMALL, "--min-capacity", "celsiusify=100",
                   "--slo-ms", "500", timeout=2300)  # fmt: skip
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
    # The namespace enforces Pod Security "restricted", and no pod of the run would violate it.
    assert f"namespace/{NAMESPACE} labeled" in transcript
    assert summary["pod_security"] == [
        f"pod-security.kubernetes.io/{mode}=restricted" for mode in ("enforce", "audit", "warn")
    ]
    assert "violate PodSecurity" not in transcript
    check_standin_labelled(out, transcript, summary)
    # Both releases passed helm test (TF Serving's test pod asks the stand-in for a prediction).
    for release in ("celsiusify", "celsiusify-tfserving"):
        assert re.search(rf"TEST SUITE:\s+{release}-test", transcript), transcript[-8000:]
    assert len(re.findall(r"Phase:\s+Succeeded", transcript)) >= 2
    # Celsiusify: Locust ran in the cluster, the HPA went above one replica.
    run_dir = out / "celsiusify"
    samples = read_csv(run_dir / "replicas.csv")
    assert len(samples) >= 10
    assert max(int(row["desired_replicas"] or 0) for row in samples) > 1
    assert "under the top step" in summary["hpa"]["celsiusify"]
    meta = json.loads((run_dir / "meta.json").read_text())
    assert meta["capacity"]["step"]["rps"] >= 100
    assert meta["server_cpus"] >= 0.5  # the CPU limit x the most Ready pods
    assert len(read_csv(run_dir / "summary.csv")) == 3  # the short shape's three steps
    # Who answered: the share CSV came out with Locust's and names the pods.
    assert {row["identifier"] for row in read_csv(run_dir / "celsiusify_share.csv")}
    check_workers_cpu(out, summary)
    tf_meta = json.loads((out / "tfserving" / "meta.json").read_text())
    assert tf_meta["standin"] is True
    assert "STAND-IN, not the real server" in tf_meta["headline"]
    assert "standin" not in meta
    # The comparison is refused, in e2e.json, e2e.md and the report's summary.md.
    assert summary["comparison"]["verdict"] == "REFUSED"
    assert summary["comparison"]["standin"] == ["tfserving"]
    assert "**Comparison: REFUSED**" in (out / "e2e.md").read_text()
    assert "No verdict: TF Serving answered as a stand-in" in (out / "summary.md").read_text()
    for report in ("report.pdf", "report.html", "summary.md", "e2e.md"):
        assert (out / report).stat().st_size > 0, report
    # The clean-up: namespace, releases and the imported images are gone.
    assert kube("get", "namespace", NAMESPACE, "--ignore-not-found").stdout.strip() == ""
    releases = helm("list", "--all-namespaces", "-q").stdout.split()
    assert not {"locust-celsiusify", "locust-tfserving"} & set(releases)
    assert images_in_cluster(ctr) == []
    print((out / "e2e.md").read_text())


@pytest.mark.timeout(900)
def test_an_unbuildable_target_stops_at_its_image_and_its_objects_are_dry_run(
    preconditions: None, kube: Run, ctr: Run, tmp_path: Path
) -> None:
    """--unbuildable server-dry-run: TF Serving's own image cannot be built here; the run says
    why, sends its release and its Locust release through the API server's validation and
    admission only (Pod Security "restricted" included), and measures nothing."""
    out = tmp_path / "e2e-dry"
    run = make_e2e(out, "--targets", "tfserving", "--unbuildable", "server-dry-run",
                   "--shape", "short", "--workers", "1", timeout=850)  # fmt: skip
    transcript = run.stdout + run.stderr
    assert run.returncode == 0, transcript[-8000:]
    summary = json.loads((out / "e2e.json").read_text())
    assert summary["verdict"] == "PASS"
    # TF Serving stops at its image, says why, and its objects pass the server-side dry run.
    assert summary["server_dry_run"] == ["tfserving"]
    assert "tfserving: its image cannot be built here" in transcript
    # ... without trying a registry: its base is absent and the local cluster is air-gapped.
    assert "its base tensorflow/serving:" in transcript
    assert "registry-1.docker.io" not in transcript
    # kubectl apply's own words for what the API server validated and admitted:
    assert "deployment.apps/celsiusify-tfserving created (server dry run)" in transcript
    assert "deployment.apps/locust-tfserving-master created (server dry run)" in transcript
    assert "violate PodSecurity" not in transcript
    assert summary["comparison"]["verdict"] == "NOT COMPARED"
    assert kube("get", "namespace", NAMESPACE, "--ignore-not-found").stdout.strip() == ""
    assert images_in_cluster(ctr) == []


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
