"""Capacity detection on synthetic Locust histories."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.analyse.capacity import (
    BenchDataError,
    CpuSample,
    find_capacity,
    read_csv,
    steps_from_history,
)


def history(
    steps: list[tuple[int, float, float]], seconds: int = 10, failures_at: int | None = None
) -> list[dict[str, str]]:
    """Aggregated rows, one per second: (users, rps, p99 ms) per step."""
    rows, total, failed, now = [], 0, 0, 1_000.0
    rows.append(_row(now, 0, 0, 0, 0, 0))
    for users, rps, p99 in steps:
        for _ in range(seconds):
            now += 1
            total += int(rps)
            if failures_at == users:
                failed += int(rps * 0.01)
            rows.append(_row(now, users, rps, p99, total, failed))
    return rows


def _row(now: float, users: int, rps: float, p99: float, total: int, failed: int) -> dict[str, str]:
    return {
        "Timestamp": str(int(now)), "User Count": str(users), "Type": "", "Name": "Aggregated",
        "Requests/s": str(rps), "50%": str(p99 / 4), "95%": str(p99 / 2), "99%": str(p99),
        "Total Request Count": str(total), "Total Failure Count": str(failed),
    }  # fmt: skip


def cpu(rows: list[dict[str, str]], loadgen: float, server: float = 50.0) -> list[CpuSample]:
    return [CpuSample(float(row["Timestamp"]), loadgen, server) for row in rows]


def test_steps_measure_throughput_from_request_counts() -> None:
    rows = history([(4, 1000, 5), (8, 1800, 9)])
    steps = steps_from_history(rows, cpu(rows, 40))
    assert [step.users for step in steps] == [4, 8]
    assert steps[0].rps == pytest.approx(1000)
    assert steps[1].rps == pytest.approx(1800)
    assert steps[1].p99_ms == 9
    assert steps[0].loadgen_cpu_percent == pytest.approx(40)
    assert steps[0].start >= 1_000 + 2  # settling time skipped


def test_capacity_is_the_last_step_within_the_slo() -> None:
    rows = history([(4, 1000, 5), (8, 1800, 20), (12, 2000, 80), (16, 1900, 300)])
    capacity = find_capacity(steps_from_history(rows, cpu(rows, 30)), 50, 0.001)
    assert capacity.step is not None
    assert capacity.step.users == 8
    assert capacity.step.rps == pytest.approx(1800)
    assert not capacity.lower_bound
    assert capacity.reasons == []


def test_failures_disqualify_a_step() -> None:
    rows = history([(4, 1000, 5), (8, 1800, 9), (12, 2000, 80)], failures_at=8)
    capacity = find_capacity(steps_from_history(rows), 50, 0.001)
    assert capacity.step is not None
    assert capacity.step.users == 4


def test_saturated_generator_makes_it_a_lower_bound() -> None:
    rows = history([(4, 1000, 5), (8, 1100, 6), (12, 1100, 90)])
    capacity = find_capacity(steps_from_history(rows, cpu(rows, 97)), 50, 0.001)
    assert capacity.step is not None
    assert capacity.step.users == 8
    assert capacity.lower_bound
    assert "generator" in capacity.reasons[0]


def test_never_leaving_the_slo_is_a_lower_bound() -> None:
    rows = history([(4, 1000, 5), (8, 1900, 6)])
    capacity = find_capacity(steps_from_history(rows, cpu(rows, 30)), 50, 0.001)
    assert capacity.lower_bound
    assert "never reached" in capacity.reasons[0]


def test_no_step_within_the_slo() -> None:
    rows = history([(4, 1000, 60), (8, 1100, 90)])
    capacity = find_capacity(steps_from_history(rows), 50, 0.001)
    assert capacity.step is None
    assert not capacity.lower_bound


def test_read_csv_says_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(BenchDataError, match="file not found"):
        read_csv(tmp_path / "nope.csv", ["a"])
    (tmp_path / "x.csv").write_text("a,b\n")
    with pytest.raises(BenchDataError, match="no rows"):
        read_csv(tmp_path / "x.csv", ["a"])
    (tmp_path / "y.csv").write_text("a,b\n1,2\n")
    with pytest.raises(BenchDataError, match="missing column"):
        read_csv(tmp_path / "y.csv", ["a", "c"])
