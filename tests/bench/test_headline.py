"""The verdict sentence on synthetic headline rows: basis, ratio and lower-bound wording."""

from __future__ import annotations

from dataclasses import replace

from bench.analyse.headline import Headline, basis, verdict

FASTAPI = Headline(
    target="fastapi", run="A", slo_p99_ms=50, users=40, rps=3000, rps_per_cpu=6000,
    rps_per_cpu_used=10_000, p50_ms=3, p99_ms=40, failures=0, failure_ratio=0, lower_bound=False,
)  # fmt: skip
TFSERVING = replace(FASTAPI, target="tfserving", run="B", rps=1000, rps_per_cpu=2000,
                    rps_per_cpu_used=2500)  # fmt: skip
GENERATOR = ["load generator CPU reached 99% ...: the generator, not the server, was the limit"]


def test_one_run_has_no_verdict() -> None:
    assert verdict([FASTAPI]) is None


def test_per_cpu_second_used_when_every_run_has_it() -> None:
    assert basis([FASTAPI, TFSERVING])[1] == "requests per CPU-second used"
    assert verdict([TFSERVING, FASTAPI]) == (
        "fastapi holds 4.00× the requests per CPU-second used of tfserving at p99 ≤ 50 ms "
        "(10,000 vs 2,500)."
    )


def test_falls_back_to_allotted_cpu_then_to_plain_throughput() -> None:
    unmeasured = replace(TFSERVING, rps_per_cpu_used=None)
    assert "3.00× the requests per allotted CPU" in str(verdict([FASTAPI, unmeasured]))
    unknown = replace(unmeasured, rps_per_cpu=None)
    assert "3.00× the requests/s (CPU not known for every run)" in str(verdict([FASTAPI, unknown]))


def test_lower_bounds_qualify_the_ratio() -> None:
    winner_bound = replace(FASTAPI, lower_bound=True, reasons=GENERATOR)
    assert "holds at least 4.00×" in str(verdict([winner_bound, TFSERVING]))
    loser_bound = replace(TFSERVING, lower_bound=True, reasons=GENERATOR)
    sentence = str(verdict([FASTAPI, loser_bound]))
    assert "holds at most 4.00×" in sentence
    assert "Caveat: tfserving's figure is a lower bound: the load generator" in sentence
    both = str(verdict([winner_bound, loser_bound]))
    assert "holds 4.00×" in both
    assert "the ratio is not conclusive" in both


def test_a_run_without_capacity_is_named() -> None:
    failed = replace(TFSERVING, users=None, rps=None, rps_per_cpu=None, rps_per_cpu_used=None)
    assert verdict([FASTAPI, failed]) == (
        "fastapi is the only run with a step within p99 ≤ 50 ms. Caveat: tfserving held no step "
        "within p99 ≤ 50 ms."
    )


def test_three_runs_rank_against_the_best() -> None:
    third = replace(TFSERVING, target="baseline", rps_per_cpu_used=5000)
    assert verdict([TFSERVING, third, FASTAPI]) == (
        "fastapi holds the most requests per CPU-second used at p99 ≤ 50 ms "
        "(10,000 vs 5,000 vs 2,500): 2.00× baseline, 4.00× tfserving."
    )
