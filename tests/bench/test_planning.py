"""Capacity planning from the chart's values, worked by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.analyse import planning


def test_chart_defaults_are_read() -> None:
    sizing = planning.load_sizing(None)
    # celsiusify-chart/values.yaml: requests.cpu 250m, limits.cpu 500m, HPA 1-5 at 50 %.
    assert sizing.cpu_request_millicores == 250
    assert sizing.cpu_limit_millicores == 500
    assert sizing.target_percent == 50
    assert (sizing.min_replicas, sizing.max_replicas) == (1, 5)


def test_planning_figures_for_the_chart_defaults() -> None:
    sizing = planning.load_sizing(None)
    plan = planning.plan(10_000, sizing, rate=3_000)
    # One pod at the target: 10,000 req per CPU-second x 0.25 CPU x 50 % = 1,250 req/s.
    assert plan.per_pod_at_target == pytest.approx(1_250)
    # The HPA adds a pod above target x (1 + 10 % tolerance): 1,375 req/s.
    assert plan.per_pod_before_scale_up == pytest.approx(1_375)
    # 3,000 req/s / 1,250 = 2.4 -> 3 replicas, within maxReplicas 5.
    assert plan.replicas_for_rate == 3
    assert not plan.beyond_max_replicas
    # maxReplicas caps at 5 x 1,250 = 6,250 req/s; at the 500m limit 5 x 10,000 x 0.5 = 25,000.
    assert plan.max_rate_at_target == pytest.approx(6_250)
    assert plan.max_rate_at_limit == pytest.approx(25_000)
    big = planning.plan(10_000, sizing, rate=10_000)
    assert big.replicas_for_rate == 8  # 10,000 / 1,250 = 8 exactly: not 9
    assert big.beyond_max_replicas
    assert planning.plan(10_000, sizing, rate=100).replicas_for_rate == 1  # minReplicas


def test_a_values_file_overrides_the_defaults(tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text("resources:\n  requests:\n    cpu: '0.5'\nautoscaling:\n"
                      "  targetCPUUtilizationPercentage: 80\n  maxReplicas: 10\n")  # fmt: skip
    sizing = planning.load_sizing(values)
    assert sizing.cpu_request_millicores == 500
    assert sizing.cpu_limit_millicores == 500  # still the chart default
    plan = planning.plan(10_000, sizing, rate=20_000)
    assert plan.per_pod_at_target == pytest.approx(4_000)  # 10,000 x 0.5 x 80 %
    assert plan.replicas_for_rate == 5
    assert plan.max_rate_at_target == pytest.approx(40_000)
    assert str(values) in sizing.source


def test_values_without_the_keys_are_refused() -> None:
    with pytest.raises(planning.ValuesError, match=r"resources\.requests\.cpu"):
        planning.sizing_from_values({"resources": {}}, "mine.yaml")
