"""The Locust workers' CPU in the cluster: the recorder reads the metrics API and the pods'
requests and limits (a stand-in kubectl here), and bench.results turns its rows into the load
generator's CPU (the busiest worker, in percent of its ceiling)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.measure.loadgen import (
    LoadgenWatcher,
    duration_seconds,
    parse_pod_metrics,
    parse_pod_resources,
    worker_selector,
)
from bench.results import LOADGEN_PODS_COLUMNS, loadgen_samples, worker_ceiling

ROOT = Path(__file__).resolve().parents[2]
SELECTOR = worker_selector("locust-celsiusify")


def pod_metrics(end: str, *usages: tuple[str, str]) -> dict[str, object]:
    """A PodMetricsList as `kubectl get pods.metrics.k8s.io -o json` prints it."""
    return {
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            {
                "metadata": {"name": name},
                "timestamp": end,
                "window": "15.2s",
                "containers": [{"name": "locust", "usage": {"cpu": cpu, "memory": "90Mi"}}],
            }
            for name, cpu in usages
        ],
    }


PODS = {
    "items": [
        {
            "metadata": {"name": name},
            "spec": {"containers": [{"name": "locust", "resources": {
                "requests": {"cpu": "400m", "memory": "256Mi"},
                "limits": {"cpu": "400m", "memory": "512Mi"}}}]},
        }
        for name in ("worker-a", "worker-b")
    ]
}  # fmt: skip


def test_the_metrics_window_and_cpu_of_each_pod() -> None:
    rows = parse_pod_metrics(
        pod_metrics("2026-01-01T00:00:15Z", ("worker-a", "380000000n"), ("worker-b", "120m"))
    )
    assert rows == [
        {"timestamp": 1767225615.0, "pod": "worker-a", "window_seconds": 15.2,
         "cpu_millicores": 380.0},
        {"timestamp": 1767225615.0, "pod": "worker-b", "window_seconds": 15.2,
         "cpu_millicores": 120.0},
    ]  # fmt: skip
    assert parse_pod_resources(PODS)["worker-a"] == (400.0, 400.0)
    assert parse_pod_resources({"items": [{"metadata": {"name": "x"}, "spec": {
        "containers": [{"resources": {}}]}}]}) == {"x": (None, None)}  # fmt: skip


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("15s", 15.0), ("10.5s", 10.5), ("1m0.5s", 60.5), ("500ms", 0.5), ("", None), ("15", None)],
)
def test_go_durations(text: str, seconds: float | None) -> None:
    assert duration_seconds(text) == seconds


def test_the_recorder_writes_each_window_once_with_its_request_and_limit(tmp_path: Path) -> None:
    (tmp_path / "metrics.json").write_text(
        json.dumps(pod_metrics("2026-01-01T00:00:15Z", ("worker-a", "390m"), ("worker-b", "200m")))
    )
    (tmp_path / "pods.json").write_text(json.dumps(PODS))
    kubectl = tmp_path / "kubectl"
    kubectl.write_text(
        "#!/bin/sh\n"
        f'[ "$*" = "--namespace ns get pods.metrics.k8s.io -l {SELECTOR} -o json" ] '
        f"&& exec cat {tmp_path}/metrics.json\n"
        f'[ "$*" = "--namespace ns get pods -l {SELECTOR} -o json" ] '
        f"&& exec cat {tmp_path}/pods.json\n"
        'echo "bad args: $*" >&2; exit 1\n'
    )
    kubectl.chmod(0o755)
    path = tmp_path / "loadgen_pods.csv"
    watcher = LoadgenWatcher(SELECTOR, path, 0.1, kubectl=str(kubectl), namespace="ns")
    watcher.start()
    time.sleep(0.5)  # several polls of the same window
    watcher.stop()
    with path.open() as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == LOADGEN_PODS_COLUMNS
        rows = list(reader)
    assert [(row["pod"], row["cpu_millicores"]) for row in rows] == [
        ("worker-a", "390.0"), ("worker-b", "200.0"),
    ]  # fmt: skip
    assert {row["cpu_limit_millicores"] for row in rows} == {"400.0"}
    assert watcher.errors == []


def test_the_recorder_records_a_missing_metrics_api_once(tmp_path: Path) -> None:
    watcher = LoadgenWatcher(SELECTOR, tmp_path / "l.csv", 0.1, kubectl=str(tmp_path / "none"))
    watcher.start()
    time.sleep(0.35)
    watcher.stop()
    assert len(watcher.errors) == 1
    assert watcher.samples == 0


def row(
    end: float, pod: str, used: float, request: str = "400", limit: str = "400"
) -> dict[str, str]:
    return {"timestamp": str(end), "pod": pod, "window_seconds": "10", "cpu_millicores": str(used),
            "cpu_request_millicores": request, "cpu_limit_millicores": limit}  # fmt: skip


def test_the_generator_is_the_busiest_worker_in_percent_of_its_ceiling() -> None:
    samples = loadgen_samples([
        row(110, "a", 200), row(110, "b", 380), row(125, "a", 100), row(125, "b", 40),
    ])  # fmt: skip
    # At the window's middle (its figure is the window's average); the busier of the two.
    assert [(s.timestamp, s.loadgen_percent) for s in samples] == [(105, 95.0), (120, 25.0)]


def test_a_workers_ceiling_is_its_limit_else_its_request_and_one_core_at_most() -> None:
    assert worker_ceiling(request=100, limit=400) == 400
    assert worker_ceiling(request=250, limit=None) == 250
    assert worker_ceiling(request=None, limit=None) == 1000
    assert worker_ceiling(request=1000, limit=2000) == 1000  # one Python process
    sample = loadgen_samples([row(10, "a", 950, request="100", limit="")])[0]
    assert sample.loadgen_percent == 950  # 9.5x its request, no limit: saturated


def test_bench_hpa_records_the_workers_beside_the_hpa(tmp_path: Path) -> None:
    hpa = {"spec": {}, "status": {"currentReplicas": 1, "desiredReplicas": 1}}
    (tmp_path / "hpa.json").write_text(json.dumps(hpa))
    (tmp_path / "metrics.json").write_text(
        json.dumps(pod_metrics("2026-01-01T00:00:15Z", ("worker-a", "390m")))
    )
    (tmp_path / "pods.json").write_text(json.dumps(PODS))
    kubectl = tmp_path / "kubectl"
    kubectl.write_text(
        "#!/bin/sh\n"
        f'case "$*" in *"get hpa"*) cat {tmp_path}/hpa.json;; *pods.metrics*) cat '
        f"{tmp_path}/metrics.json;; *) cat {tmp_path}/pods.json;; esac\n"
    )
    kubectl.chmod(0o755)
    result = subprocess.run(
        [sys.executable, "-m", "bench", "hpa", "celsiusify", "--out",
         str(tmp_path / "replicas.csv"), "--interval", "0.1", "--seconds", "0.5", "--kubectl",
         str(kubectl), "--loadgen", SELECTOR],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "samples in" in result.stdout
    loadgen = list(csv.DictReader((tmp_path / "loadgen_pods.csv").open()))
    assert [r["pod"] for r in loadgen] == ["worker-a"]
    assert len(list(csv.DictReader((tmp_path / "replicas.csv").open()))) >= 2
