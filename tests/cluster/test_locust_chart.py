"""deliveryhero/locust 0.35.0 on the local cluster, installed the way docs/deploy.md tells users:
the Makefile targets themselves (`make loadtest-configmaps`, `make loadtest-up`,
`make loadtest-record`, `make loadtest-results`, `make loadtest-down`), with the chart read from
its tarball, against a celsiusify release in the same namespace.

What differs from a user's run is only what the Makefile exposes for it: the namespace, three
workers of 100m CPU request (the default four of one CPU each do not fit this 2-CPU node), a
short step shape (2→4→6 users, 8 s each) and `LOCUST_PULL_POLICY=Never` (the image was
imported, no registry is reachable).
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.results import LOADGEN_PODS_PINNING
from tests.helpers.cluster import Run, make_env, wait_until_programmed
from tests.helpers.helm import CHART, LOCUST_CHART, ROOT
from tests.helpers.server import free_port

pytestmark = pytest.mark.cluster

TARGET = "celsiusify"  # the Makefile's default TARGET_RELEASE
WORKERS = 3
STEPS = {"STEP_START_USERS": 2, "STEP_USERS": 2, "STEP_SECONDS": 8, "STEP_MAX_USERS": 6}
RUN_SECONDS = STEPS["STEP_SECONDS"] * 3
SMALL = " ".join(
    [f"--set-string loadtest.environment.{name}={value}" for name, value in STEPS.items()]
    + [f"--set {who}.resources.requests.cpu=100m" for who in ("worker", "master")]
)


def make(target: str, *variables: str, kubectl: str, timeout: float = 300) -> str:
    """`make TARGET VAR=value …` against the local cluster; fails the test with make's output."""
    done = subprocess.run(
        ["make", "--no-print-directory", target, *variables],
        capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=make_env(kubectl),
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"make {target}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def make_vars(kubectl: str, helm_binary: str, namespace: str, locust_image: str) -> list[str]:
    if not LOCUST_CHART.exists():
        pytest.skip(f"{LOCUST_CHART} is absent (the deliveryhero/locust chart is read from it)")
    return [
        f"LOCUST_NAMESPACE={namespace}", f"LOCUST_CHART={LOCUST_CHART}", f"HELM={helm_binary}",
        f"KUBECTL={kubectl}", f"LOCUST_WORKERS={WORKERS}", "LOCUST_PULL_POLICY=Never",
        f"LOCUST_EXTRA_ARGS={SMALL}",
    ]  # fmt: skip


@pytest.fixture(scope="module")
def target(helm: Run, kube: Run, namespace: str, api_image: str) -> Iterator[str]:
    installed = helm(
        "upgrade", "-i", TARGET, str(CHART), "--namespace", namespace, "--wait", "--timeout",
        "300s", "--set", "autoscaling.enabled=false", "--set", "replicaCount=1",
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    ip = kube("get", "service", TARGET, "-n", namespace, "-o", "jsonpath={.spec.clusterIP}")
    wait_until_programmed(f"http://{ip.stdout.strip()}/readyz")
    yield TARGET
    helm("uninstall", TARGET, "--namespace", namespace, "--wait", "--timeout", "120s")


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where `make loadtest-record` writes and `make loadtest-results` reads (LOCUST_RECORDING)."""
    return tmp_path_factory.mktemp("recording")


def stop(recorder: subprocess.Popen[str]) -> str:
    """Ctrl-C to `make loadtest-record` (its process group, as a terminal sends it); its output."""
    if recorder.poll() is None:
        os.killpg(recorder.pid, signal.SIGINT)
    output, _ = recorder.communicate(timeout=60)
    return output


@pytest.fixture(scope="module")
def headless(
    target: str, make_vars: list[str], kube: Run, kubectl: str, namespace: str, recording: Path
) -> Iterator[dict[str, Any]]:
    """make loadtest-configmaps + make loadtest-up (headless, the default mode), with make
    loadtest-record started beside it, as docs/deploy.md shows."""
    start = time.monotonic()
    make("loadtest-configmaps", *make_vars, kubectl=kubectl)
    make("loadtest-up", *make_vars, kubectl=kubectl)
    recorder = subprocess.Popen(
        ["make", "--no-print-directory", "loadtest-record", *make_vars,
         f"LOCUST_RECORDING={recording}", f"LOCUST_RECORD_SECONDS={RUN_SECONDS + 600}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
        env=make_env(kubectl), start_new_session=True,
    )  # fmt: skip
    yield {"installed": time.monotonic() - start, "start": start, "recorder": recorder}
    stop(recorder)
    make("loadtest-down", *make_vars, kubectl=kubectl)


def master_pod(kube: Run, namespace: str) -> str:
    """The running, non-terminating master's pod name ("" if none yet)."""
    out = kube(
        "get", "pods", "-n", namespace, "-l", "component=master,app.kubernetes.io/instance=locust",
        "-o", "json",
    )  # fmt: skip
    pods = [
        p
        for p in json.loads(out.stdout or '{"items": []}')["items"]
        if p["status"].get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")
    ]
    return str(pods[0]["metadata"]["name"]) if len(pods) == 1 else ""


def diagnose(kube: Run, namespace: str) -> str:
    pods = kube("get", "pods", "-n", namespace, "-o", "wide").stdout
    events = kube("get", "events", "-n", namespace, "--sort-by=.lastTimestamp").stdout
    logs = kube("logs", "-n", namespace, "deployment/locust-master", "--tail", "40").stdout
    return f"{pods}\n{events[-3000:]}\n{logs}"


def wait_for_master_log(kube: Run, namespace: str, text: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        pod = master_pod(kube, namespace)
        logs = kube("logs", "-n", namespace, pod).stdout if pod else ""
        if text in logs:
            return logs
        if time.monotonic() > deadline:
            diagnosis = diagnose(kube, namespace)
            pytest.fail(f"no {text!r} in the master's log after {timeout:.0f}s\n{diagnosis}")
        time.sleep(2)


def test_master_and_all_workers_connect(
    headless: dict[str, Any], kube: Run, namespace: str
) -> None:
    """The headless master starts the shape only once LOCUST_EXPECT_WORKERS workers are there;
    its log counts them as they report ready."""
    logs = wait_for_master_log(kube, namespace, f"{WORKERS} workers connected", timeout=180)
    took = time.monotonic() - headless["start"]
    print(f"{WORKERS} workers connected {took:.0f}s after make loadtest-configmaps")
    assert "Gave up waiting for workers" not in logs
    workers = json.loads(
        kube("get", "deployment", "locust-worker", "-n", namespace, "-o", "json").stdout
    )
    assert workers["status"].get("readyReplicas") == WORKERS, workers["status"]


def history_rows(kube: Run, namespace: str) -> list[dict[str, str]]:
    pod = master_pod(kube, namespace)
    out = kube("exec", "-n", namespace, pod, "--", "cat", "/results/celsiusify_stats_history.csv")
    return list(csv.DictReader(out.stdout.splitlines())) if out.returncode == 0 else []


def test_headless_step_run_writes_csvs_that_loadtest_results_imports(
    headless: dict[str, Any], make_vars: list[str], kube: Run, kubectl: str, namespace: str,
    tmp_path: Path, recording: Path,
) -> None:  # fmt: skip
    """The step shape runs (2, 4, 6 users) and then idles at zero users; `make
    loadtest-results` copies /results out of the master and imports it into a results folder,
    with the Locust workers' CPU that `make loadtest-record` recorded meanwhile (the release
    has no HPA here: its recording holds no sample and is left out)."""
    wait_for_master_log(kube, namespace, f"{WORKERS} workers connected", timeout=180)
    deadline = time.monotonic() + RUN_SECONDS + 90
    while True:
        rows = [r for r in history_rows(kube, namespace) if r["Name"] == "Aggregated"]
        users = [int(r["User Count"]) for r in rows]
        if STEPS["STEP_MAX_USERS"] in users and users[-1] == 0:
            break
        if time.monotonic() > deadline:
            diagnosis = diagnose(kube, namespace)
            pytest.fail(f"the step run did not finish; user counts {users}\n{diagnosis}")
        time.sleep(3)
    recorded = stop(headless["recorder"])
    assert "samples in" in recorded, recorded[-2000:]
    results = tmp_path / "results"
    make("loadtest-results", *make_vars, f"LOCUST_RESULTS_DIR={results}",
         f"LOCUST_RECORDING={recording}", kubectl=kubectl, timeout=300)  # fmt: skip
    (run,) = results.iterdir()
    assert run.name.endswith("-in-cluster-celsiusify"), run
    for name in ("celsiusify_stats.csv", "celsiusify_stats_history.csv",
                 "celsiusify_failures.csv", "summary.csv", "meta.json", "report.pdf"):  # fmt: skip
        assert (run / name).is_file(), sorted(p.name for p in run.iterdir())
    with (run / "celsiusify_stats.csv").open() as handle:
        stats = {row["Name"]: row for row in csv.DictReader(handle)}
    total = int(stats["Aggregated"]["Request Count"])
    failed = int(stats["Aggregated"]["Failure Count"])
    assert total > 0, stats["Aggregated"]
    assert failed <= total // 100, stats["Aggregated"]
    with (run / "summary.csv").open() as handle:
        steps = [int(float(r["users"])) for r in csv.DictReader(handle)]
    assert {2, 4, 6} <= set(steps), steps
    # The workers' CPU (metrics API, each worker against its 1-CPU limit) came along.
    with (run / "loadgen_pods.csv").open() as handle:
        workers = list(csv.DictReader(handle))
    assert len({row["pod"] for row in workers}) == WORKERS, workers
    meta = json.loads((run / "meta.json").read_text())
    assert meta["loadgen_pinning"] == LOADGEN_PODS_PINNING
    assert meta["loadgen_cpu_percent"]["max"] is not None
    assert "not recorded" not in meta["headline"]
    assert not (run / "replicas.csv").exists()
    print(f"in-cluster run: {total} requests, {failed} failed, steps {steps}; {run.name}")


def test_ui_mode_port_forward_serves_the_locust_ui(
    headless: dict[str, Any], make_vars: list[str], kube: Run, kubectl: str, namespace: str
) -> None:
    """The documented sequence: `make loadtest-down`, then `make loadtest-configmaps` (down deleted
    them) and `make loadtest-up LOCUST_MODE=ui`, then its `kubectl port-forward service/locust
    8089:8089` (to a free local port: 8089 may be taken here).

    Not an upgrade in place from headless: the new workers came up while the old master was still
    the Service's endpoint, registered with it, and the new master then discarded their reports
    ("Discarded report from unrecognized worker") and counted 0 workers for 90 s and more."""
    make("loadtest-down", *make_vars, kubectl=kubectl)
    make("loadtest-configmaps", *make_vars, kubectl=kubectl)
    make("loadtest-up", *make_vars, "LOCUST_MODE=ui", kubectl=kubectl)
    for deployment in ("locust-master", "locust-worker"):
        rolled = kube("rollout", "status", f"deployment/{deployment}", "-n", namespace,
                      "--timeout", "180s", timeout=200)  # fmt: skip
        assert rolled.returncode == 0, rolled.stderr + diagnose(kube, namespace)
    port = free_port()
    forward = subprocess.Popen(
        [kubectl, "port-forward", "--namespace", namespace, "service/locust", f"{port}:8089"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=make_env(kubectl),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as page:
                    html = page.read().decode()
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/worker-count", timeout=5
                ) as answer:
                    count = json.loads(answer.read())["worker_count"]
                if count == WORKERS:
                    break
            except OSError:
                count = None
            if time.monotonic() > deadline or forward.poll() is not None:
                pytest.fail(f"UI: worker count {count}\n" + diagnose(kube, namespace))
            time.sleep(2)
        assert "<title>Locust</title>" in html, html[:500]
        print(f"Locust UI through port-forward: {len(html)} bytes, {count} workers")
    finally:
        forward.terminate()
        forward.wait(timeout=10)


def test_make_loadtest_ui_prints_the_documented_command(make_vars: list[str], kubectl: str) -> None:
    """`make loadtest-ui` runs exactly docs/deploy.md's port-forward (dry: make -n)."""
    printed = subprocess.run(
        ["make", "-n", "loadtest-ui", *make_vars], capture_output=True, text=True, cwd=ROOT,
        env={**os.environ}, check=True,
    ).stdout  # fmt: skip
    assert "port-forward" in printed, printed
    assert "service/locust 8089:8089" in printed, printed
