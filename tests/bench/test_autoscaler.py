"""Autoscaler reaction on a synthetic history whose step → Ready delays are known."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
from pypdf import PdfReader

from bench.analyse import autoscaler
from bench.report import report
from bench.results import load_run

T0 = 1_000.0


def history() -> list[dict[str, str]]:
    """Locust's Aggregated rows, one a second: 10 users from T0, 20 from +60 s, 30 from +120 s.

    p99 is 80 ms while a scale-out is under way (+75..+95 s), 20 ms otherwise.
    """
    rows = []
    for second in range(180):
        users = 10 * (1 + second // 60)
        p99 = 80 if 75 <= second <= 95 else 20
        rows.append({
            "Timestamp": str(T0 + second), "User Count": str(users), "Type": "",
            "Name": "Aggregated", "Requests/s": str(users * 100), "50%": "5", "95%": "10",
            "99%": str(p99), "Total Request Count": str(second * 1000),
            "Total Failure Count": "0",
        })  # fmt: skip
    return rows


def replicas() -> list[dict[str, str]]:
    """An HPA sample every 5 s: desired 2 at +75 s, Ready 2 at +95 s; desired 3 at +130 s,
    Ready 3 at +150 s (currentReplicas follows desired at once, Ready 20 s later)."""
    rows = []
    for second in range(0, 180, 5):
        desired = 1 + (second >= 75) + (second >= 130)
        ready = 1 + (second >= 95) + (second >= 150)
        rows.append({
            "timestamp": str(T0 + second), "current_replicas": str(desired),
            "desired_replicas": str(desired), "cpu_utilization_percent": "70",
            "ready_replicas": str(ready), "cpu_average_millicores": "175",
        })  # fmt: skip
    return rows


def test_load_steps_are_the_rises_of_the_user_count() -> None:
    steps = autoscaler.load_steps(history())
    assert steps == [
        autoscaler.LoadStep(10, T0), autoscaler.LoadStep(20, T0 + 60),
        autoscaler.LoadStep(30, T0 + 120),
    ]  # fmt: skip


def test_reaction_times_from_each_step_to_the_next_ready_replica() -> None:
    summary = autoscaler.summarise(history(), replicas())
    by_users = {item.users: item for item in summary.reactions}
    # Step to 20 users at +60 s: the HPA asked for a 2nd replica at +75 s, Ready at +95 s.
    assert by_users[20].ready_before == 1
    assert by_users[20].decided_after_s == 15
    assert by_users[20].ready_after_s == 35
    assert by_users[20].ready_then == 2
    # Step to 30 users at +120 s (2 Ready): asked at +130 s, the 3rd Ready at +150 s.
    assert by_users[30].ready_before == 2
    assert by_users[30].decided_after_s == 10
    assert by_users[30].ready_after_s == 30
    # The first step is followed by the same 2nd replica, 95 s later.
    assert by_users[10].ready_after_s == 95
    assert summary.scale_out_spans == [(T0 + 75, T0 + 95), (T0 + 130, T0 + 150)]
    assert summary.p99_during_scale_out_ms == 80
    assert summary.highest_replicas == 3
    assert summary.highest_ready == 3


def test_no_new_replica_is_no_reaction() -> None:
    flat = [{**row, "desired_replicas": "1", "current_replicas": "1", "ready_replicas": "1"}
            for row in replicas()]  # fmt: skip
    summary = autoscaler.summarise(history(), flat)
    assert all(item.ready_after_s is None for item in summary.reactions)
    assert summary.scale_out_spans == []
    assert summary.p99_during_scale_out_ms is None


def test_recordings_without_ready_fall_back_to_current_replicas() -> None:
    old = [{key: value for key, value in row.items()
            if key not in ("ready_replicas", "cpu_average_millicores")}
           for row in replicas()]  # fmt: skip
    samples = autoscaler.replica_samples(old)
    assert [sample.ready for sample in samples] == [sample.current for sample in samples]
    by_users = {item.users: item for item in autoscaler.summarise(history(), old).reactions}
    assert by_users[20].ready_after_s == 15  # currentReplicas rose when the HPA decided


def test_report_adds_the_autoscaler_page(local_run: Path) -> None:
    """A replicas.csv lined up with the committed run's clock adds a page and its PNG."""
    start = float(load_run(local_run).history[0]["Timestamp"])
    shifted = [{**row, "timestamp": str(float(row["timestamp"]) - T0 + start)}
               for row in replicas()]  # fmt: skip
    header = list(shifted[0])
    lines = [",".join(header), *(",".join(row[key] for key in header) for row in shifted)]
    (local_run / "replicas.csv").write_text("\n".join(lines) + "\n")
    assert report.main([str(local_run)]) == 0
    pdf = PdfReader(local_run / "report.pdf")
    assert len(pdf.pages) == 5
    page = " ".join(pdf.pages[3].extract_text().split())
    assert "Autoscaler: celsiusify" in page
    assert "Highest replica count: 3 (3 Ready)" in page
    assert (local_run / "autoscaler.png").exists()
    plt.close("all")
