"""Load across replicas: the window share, the time to fair share and the spread figures."""

from __future__ import annotations

import math

from bench.analyse.spread import fair_share_time, spread, window_share

# Pod a alone for 10 s; b Ready at 10 s, idle until 14 s, then a third of the answers (c the rest).
COUNTS = {
    **{second: {"a": 90} for second in range(10)},
    **{second: {"a": 60, "c": 30} for second in range(10, 14)},
    **{second: {"a": 30, "b": 30, "c": 30} for second in range(14, 30)},
}


def test_window_share_counts_only_the_window() -> None:
    assert window_share(COUNTS, "a", 0, 5) == 1.0
    assert window_share(COUNTS, "b", 14, 5) == 1 / 3
    assert window_share(COUNTS, "b", 100, 5) is None


def test_a_new_pod_is_fair_from_the_first_window_within_20_percent() -> None:
    # [12, 17): b has 90 of 450 answers = 20 %, below 1/3 - 20 %; [13, 18): 120/450 = 26.7 %,
    # within 1/3 ± 20 % (26.7 % .. 40 %).
    assert fair_share_time(COUNTS, "b", ready=10.0, replicas=3, window=5) == 3.0


def test_a_pod_that_never_gets_its_share_has_no_time() -> None:
    assert fair_share_time(COUNTS, "d", ready=10.0, replicas=3, window=5) is None


def test_spread_of_even_and_uneven_shares() -> None:
    even = spread([1 / 3, 1 / 3, 1 / 3])
    assert even["max_over_min"] == 1.0
    assert even["cv"] == 0.0
    uneven = spread([0.5, 0.25, 0.25])
    assert uneven["max_over_min"] == 2.0
    assert math.isclose(uneven["cv"], math.sqrt(((1 / 6) ** 2 + 2 * (1 / 12) ** 2) / 3) * 3)
    assert spread([0.0, 1.0])["max_over_min"] == math.inf
