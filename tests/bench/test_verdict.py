"""The verdict of `make bench` on synthetic headline rows: two serving stacks held to the same
CPU allotment, compared per allotted CPU with the cost at equal load; a stand-in refused."""

from __future__ import annotations

from dataclasses import replace

from bench.analyse.efficiency import Cost
from bench.analyse.headline import Headline, headline_table, lead, verdict

ALLOTMENT = (0.25, 10_000)
FASTAPI = Headline(
    target="celsiusify", run="celsiusify", slo_p99_ms=50, users=70, rps=2500, rps_per_cpu=10_000,
    rps_per_cpu_used=10_000, p50_ms=17, p99_ms=45, failures=0, failure_ratio=0,
    lower_bound=False, allotment=ALLOTMENT,
    efficiency=(Cost(10, 1600, 0.15), Cost(30, 2000, 0.125), Cost(70, 2500, 0.1)),
    throttled_share=0.97,
)  # fmt: skip
TFSERVING = replace(
    FASTAPI, target="tfserving", run="tfserving", users=30, rps=1000, rps_per_cpu=4000,
    rps_per_cpu_used=4000, p50_ms=20, p99_ms=48,
    efficiency=(Cost(10, 800, 0.3), Cost(30, 1000, 0.25)),
)  # fmt: skip
GENERATOR = ["load generator CPU reached 95% ...: the generator, not the server, was the limit"]


def test_the_stacks_are_compared_per_allotted_cpu_with_the_cost_at_equal_load() -> None:
    assert verdict([TFSERVING, FASTAPI]) == (
        "FastAPI holds 2.50× the requests per allotted CPU of TF Serving at p99 ≤ 50 ms: 2,500 "
        "vs 1,000 req/s at capacity in 0.25 CPU each (10,000 vs 4,000 req/s per allotted CPU; "
        "p50/p99 17/45 ms vs 20/48 ms). At equal load (30 users, the highest step both held "
        "within the SLO: 2,000 vs 1,000 req/s) FastAPI used 0.125 and TF Serving 0.250 "
        "CPU-seconds per 1,000 requests."
    )


def test_the_other_way_round() -> None:
    faster = replace(TFSERVING, rps=5000, rps_per_cpu=20_000, efficiency=(Cost(70, 5000, 0.05),))
    sentence = str(verdict([FASTAPI, faster]))
    assert sentence.startswith("TF Serving holds 2.00× the requests per allotted CPU of FastAPI")
    assert (
        "(70 users, the highest step both held within the SLO: 5,000 vs 2,500 req/s) TF "
        "Serving used 0.050 and FastAPI 0.100 CPU-seconds" in sentence
    )
    apart = replace(faster, efficiency=(Cost(80, 5000, 0.05),))
    assert "at equal load: n/a (no step both held within the SLO" in str(verdict([FASTAPI, apart]))


def test_a_lower_bound_side_is_named() -> None:
    bound = replace(FASTAPI, lower_bound=True, reasons=GENERATOR)
    sentence = str(verdict([bound, TFSERVING]))
    assert "FastAPI holds at least 2.50×" in sentence
    assert sentence.endswith(
        "Caveat: FastAPI's figure is a lower bound: the load generator, not the server, was the "
        "limit."
    )


def test_a_stand_in_gets_no_verdict() -> None:
    standin = replace(TFSERVING, standin=True)
    sentence = str(verdict([FASTAPI, standin]))
    assert sentence.startswith("No verdict: TF Serving answered as a stand-in")
    assert "×" not in sentence
    assert "2,500" not in sentence
    assert lead([standin]).startswith("No verdict: TF Serving answered as a stand-in")
    table = headline_table([FASTAPI, standin])
    assert [row[0] for row in table.rows] == ["celsiusify", "tfserving (STAND-IN)"]


def test_different_allotments_fall_back_to_the_shared_per_cpu_figure() -> None:
    other = replace(TFSERVING, allotment=(0.5, 10_000))
    assert "the requests per CPU-second used of" in str(verdict([FASTAPI, other]))


def test_the_headline_table_shows_the_cost_and_the_throttling() -> None:
    table = headline_table([FASTAPI, TFSERVING])
    assert table.rows[0][-2:] == ["0.125 at 30 users", "97% of periods"]
    assert table.rows[1][-2:] == ["0.250 at 30 users", "97% of periods"]


def test_one_held_run_says_it_is_server_limited_and_costs_at_capacity() -> None:
    sentence = lead([FASTAPI])
    assert sentence.startswith("celsiusify holds 2,500 req/s at p99 ≤ 50 ms (70 users")
    assert sentence.endswith(
        "— server-limited at 0.25 CPU: a step broke the SLO while the load generator had CPU left."
    )
    assert headline_table([FASTAPI]).rows[0][-2] == "0.100 at 70 users (capacity)"
