"""The gate's decisions on synthetic Locust and HPA rows: each passes what it should and fails
what it should."""

from __future__ import annotations

import importlib.util
import sys

from e2e.gate import (
    ANSWER_KINDS,
    capacity_rps,
    floor_problem,
    free_cpu,
    hpa_verdict,
    peak_ready_replicas,
    top_step_window,
    written_budget,
    wrong_answers,
)
from tests.helpers.e2e import ROOT


def history(*points: tuple[int, int]) -> list[dict[str, str]]:
    rows = [{"Timestamp": str(t), "User Count": str(u), "Name": "Aggregated"} for t, u in points]
    return [*rows, {"Timestamp": "0", "User Count": "999", "Name": "/convert"}]  # not Aggregated


def replicas(*samples: tuple[float, int, int]) -> list[dict[str, str]]:
    return [
        {
            "timestamp": str(t),
            "current_replicas": str(c),
            "desired_replicas": str(d),
            "ready_replicas": str(c),
        }
        for t, c, d in samples
    ]


def test_answer_kinds_are_the_checks_that_mean_a_wrong_answer() -> None:
    spec = importlib.util.spec_from_file_location("checks", ROOT / "locust" / "lib" / "checks.py")
    assert spec is not None
    assert spec.loader is not None
    checks = importlib.util.module_from_spec(spec)
    sys.modules["checks"] = checks  # its dataclasses look their module up there
    try:
        spec.loader.exec_module(checks)
    finally:
        del sys.modules["checks"]
    assert set(ANSWER_KINDS) == set(checks.KINDS) - {checks.NO_RESPONSE}


def test_wrong_answers_are_found_and_load_failures_are_not() -> None:
    rows = [
        {
            "Method": "GET",
            "Name": "/convert",
            "Error": "CatchResponseError('wrong answer')",
            "Occurrences": "3",
        },
        {
            "Method": "GET",
            "Name": "/convert",
            "Error": "CatchResponseError('HTTP status 503')",
            "Occurrences": "9",
        },
        {
            "Method": "GET",
            "Name": "/convert",
            "Error": "ConnectionRefusedError(111)",
            "Occurrences": "1",
        },
    ]
    assert wrong_answers(rows) == ["3 x CatchResponseError('wrong answer') (/convert)"]
    assert wrong_answers(rows[1:]) == []


def test_the_top_step_is_the_highest_user_count() -> None:
    rows = history((100, 0), (101, 4), (140, 8), (180, 12), (190, 12), (219, 12), (221, 0))
    assert top_step_window(rows) == (180.0, 219.0)
    assert top_step_window(history((1, 0), (2, 0))) is None


def test_the_hpa_gate_passes_only_above_the_minimum_under_the_top_step() -> None:
    window = (180.0, 219.0)
    scaled = replicas((150, 1, 2), (185, 2, 3), (215, 3, 3))
    assert hpa_verdict(scaled, window, minimum=1).went_above
    # Scaled before the top step and back to one during it: not under the top step.
    early = replicas((150, 1, 3), (160, 3, 3), (185, 1, 1), (215, 1, 1))
    verdict = hpa_verdict(early, window, minimum=1)
    assert not verdict.went_above
    assert "up to 1 current, 1 desired" in verdict.describe(1)
    assert not hpa_verdict(replicas((185, 1, 1)), window, minimum=1).went_above
    assert not hpa_verdict(scaled, None, minimum=1).went_above
    # Desired above the minimum counts (the pod may still be starting).
    assert hpa_verdict(replicas((200, 1, 2)), window, minimum=1).went_above


def test_peak_ready_replicas() -> None:
    assert peak_ready_replicas(replicas((1, 1, 1), (2, 3, 3), (3, 2, 2))) == 3
    assert peak_ready_replicas([]) == 0


def test_capacity_floors() -> None:
    meta = {"capacity": {"step": {"rps": 1234.5}}}
    assert capacity_rps(meta) == 1234.5
    assert floor_problem("celsiusify", 1234.5, 1000) is None
    assert floor_problem("celsiusify", 1234.5, 2000) == (
        "celsiusify: capacity 1,234 req/s is below the floor of 2,000 req/s"
    )
    assert capacity_rps({"capacity": {"step": None}}) is None
    assert floor_problem("tfserving", None, 10) == "tfserving: no step met the SLO (floor 10 req/s)"


def test_free_cpu_counts_other_namespaces_running_pods_only() -> None:
    nodes = {
        "items": [
            {"metadata": {"name": "n1"}, "spec": {}, "status": {"allocatable": {"cpu": "4"}}},
            {
                "metadata": {"name": "n2"},
                "spec": {"unschedulable": True},
                "status": {"allocatable": {"cpu": "8"}},
            },
        ]
    }

    def pod(
        namespace: str, cpu: str, phase: str = "Running", node: str = "n1"
    ) -> dict[str, object]:
        return {
            "metadata": {"namespace": namespace},
            "status": {"phase": phase},
            "spec": {"nodeName": node, "containers": [{"resources": {"requests": {"cpu": cpu}}}]},
        }

    pods = {
        "items": [
            pod("kube-system", "950m"),
            pod("run", "2"),
            pod("old", "1", "Succeeded"),
            pod("other", "500m", node="n2"),
        ]
    }
    assert free_cpu(nodes, pods, "run") == 4000 - 950


def test_written_budget_reads_the_budget_lines() -> None:
    text = "# budget: system 1050m kind\n#   budget: locust-workers  800m  2 x 400m\nkey: 1\n"
    assert written_budget(text) == {"system": 1050, "locust-workers": 800}
