"""How `bench run` holds the server's CPU (bench/measure/hold.py) and the figures drawn from the
hold: the allotment's size and period as given on the command line, the fallback without a
cgroup, the throttled share and the CPU-seconds per 1,000 requests at equal load."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from bench.analyse import efficiency
from bench.analyse.capacity import Step
from bench.measure import cgroups, hold
from bench.measure.allotment import default_cpus
from bench.results import Throttling

CORES = os.cpu_count() or 1


@pytest.mark.parametrize(
    ("text", "micros"),
    [("10ms", 10_000), ("100ms", 100_000), ("100 ms", 100_000), ("2.5ms", 2_500),
     ("10000us", 10_000), ("10000µs", 10_000), ("10000", 10_000)],
)  # fmt: skip
def test_the_period_is_read_in_microseconds_or_milliseconds(text: str, micros: int) -> None:
    assert hold.parse_period(text) == micros


@pytest.mark.parametrize(
    ("text", "words"),
    [("7s", "give microseconds or milliseconds"), ("ten", "give microseconds"),
     ("0.5us", "not a whole number"), ("500us", "1000 to 1000000"), ("2000ms", "1000 to 1000000")],
)  # fmt: skip
def test_a_bad_period_is_one_line(text: str, words: str) -> None:
    with pytest.raises(ValueError, match=words) as raised:
        hold.parse_period(text)
    assert "\n" not in str(raised.value)


def test_the_allotment_defaults_to_this_machines_size() -> None:
    assert hold.allotment_size(None, 10_000) == default_cpus()
    assert hold.allotment_size(0.5, 100_000) == 0.5


@pytest.mark.parametrize("cpus", [0, -1, CORES + 1])
def test_server_cpus_out_of_range_name_the_flag(cpus: float) -> None:
    with pytest.raises(ValueError, match=r"^--server-cpus: cpus must be more than 0 and at most"):
        hold.allotment_size(cpus, 10_000)


def test_a_quota_under_the_kernels_floor_names_the_period() -> None:
    with pytest.raises(ValueError, match=r"^--cpu-period: .* under the kernel's 1000 us floor"):
        hold.allotment_size(0.25, 2_000)


def test_without_a_cgroup_the_server_is_pinned_and_the_figure_a_lower_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "mounts").write_text("proc /proc proc rw 0 0\n")
    (tmp_path / "cgroup").write_text("0::/\n")
    monkeypatch.setattr(cgroups, "MOUNTS", tmp_path / "mounts")
    monkeypatch.setattr(cgroups, "OWN_CGROUP", tmp_path / "cgroup")
    with hold.process_hold(0.25, 10_000) as held:
        held.add(os.getpid())  # a no-op: nothing to move it into
        assert held.sample() is None
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("bench: no CPU allotment: no cgroup v2 hierarchy is mounted")
    assert "pinned instead and the figure is a lower bound" in lines[0]
    assert not held.held
    assert held.as_meta()["method"] == "pinned"
    assert str(held.lower_bound_reason).startswith("no CPU allotment (no cgroup v2")


def test_a_held_process_is_in_the_quota_and_back_in_its_own_cgroup_after() -> None:
    try:
        cgroups.locate()
    except cgroups.AllotmentUnavailable as error:
        pytest.skip(f"no usable cgroup here: {error.reason}")
    before = Path(f"/proc/{os.getpid()}/cgroup").read_text()
    with hold.process_hold(0.5, 100_000, restore=True) as held:
        held.add(os.getpid())
        inside = Path(f"/proc/{os.getpid()}/cgroup").read_text()
        assert "celsiusify-bench-" in inside
        counters = held.sample()
        assert counters is not None
        assert held.as_meta() | {"cgroup": ""} == {
            "method": "cgroup", "cpus": 0.5, "period_us": 100_000, "quota_us": 50_000,
            "cgroup_version": cgroups.locate().version, "unheld_reason": None, "cgroup": "",
        }  # fmt: skip
    assert Path(f"/proc/{os.getpid()}/cgroup").read_text() == before


# --- figures from the hold -------------------------------------------------------------------


def rows(*counters: tuple[float, int, int]) -> list[Throttling]:
    """Throttling rows from (timestamp, periods, throttled), a quarter CPU used throughout."""
    first = counters[0][0]
    return [
        Throttling(at, at - first, int((at - first) * 250_000), periods, throttled, throttled * 75)
        for at, periods, throttled in counters
    ]


def test_the_throttled_share_is_over_the_steps_seconds() -> None:
    recorded = rows((100.4, 0, 0), (101.4, 100, 10), (102.4, 200, 60), (103.4, 300, 160))
    # the step's seconds 101..103: from the row at 100.4 to the row at 102.4
    assert efficiency.throttled_share(recorded, 101, 103) == pytest.approx(60 / 200)
    assert efficiency.throttled_share(recorded, 102, 104) == pytest.approx(150 / 200)
    assert efficiency.throttled_share(recorded, 100.4, 100.5) is None  # no period in between
    series = efficiency.per_second(recorded)
    assert [share for _, share, _ in series] == [0.1, 0.5, 1.0]
    assert [used for _, _, used in series] == pytest.approx([0.25, 0.25, 0.25])


def step(users: int, rps: float, server_percent: float | None) -> Step:
    return Step(users, 0, 10, int(rps * 10), 0, rps, 2, 5, 10,
                loadgen_cpu_percent=50, server_cpu_percent=server_percent)  # fmt: skip


def test_cpu_seconds_per_thousand_requests() -> None:
    assert efficiency.cpu_seconds_per_1000(step(10, 2500, 25)) == pytest.approx(0.1)
    assert efficiency.cpu_seconds_per_1000(step(10, 2500, None)) is None


def test_equal_load_is_the_highest_step_both_held_within_the_slo() -> None:
    fast = efficiency.costs([step(10, 1600, 25), step(20, 2000, 25), step(30, 2400, 25)], 50, 0)
    assert [cost.cpu_seconds_per_1000 for cost in fast] == pytest.approx(
        [0.15625, 0.125, 0.25 / 2.4]
    )
    broken = replace(step(30, 900, 25), p99_ms=80)
    slow = efficiency.costs([step(10, 700, 25), step(20, 800, 20), broken], 50, 0)
    assert [cost.users for cost in slow] == [10, 20]  # 30 users broke the SLO
    users, (at_fast, at_slow) = efficiency.equal_load([fast, slow]) or (0, [])
    assert users == 20
    assert (at_fast.rps, at_slow.rps) == (2000, 800)
    assert at_slow.cpu_seconds_per_1000 == pytest.approx(0.25)
    assert efficiency.equal_load([fast, []]) is None
    assert efficiency.costs([step(10, 1600, None)], 50, 0) == []
