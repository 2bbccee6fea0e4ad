"""The chart's alerts evaluated by Prometheus's own rule engine: promtool (built from the Prometheus
Go module by scripts/tools/promtool.sh) checks the rendered PrometheusRule's groups and runs unit
tests on them. Each alert has series that must fire it, with the exact labels and annotations it
fires with once its `for:` has passed, and series that must not (healthy traffic, below the
threshold, not for long enough, another release's series). The series carry the names and labels
the app exports (app/metrics.py) as the ServiceMonitor scrapes them, and kube-state-metrics v2's.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.metrics import LATENCY_BUCKETS
from tests.helpers.helm import MONITORING_FORCED, ROOT, Objects
from tests.helpers.objects import one

pytestmark = pytest.mark.helm

PROMTOOL_SCRIPT = ROOT / "scripts" / "tools" / "promtool.sh"
# The script's exit status without Go, and (-n: build nothing) without a cached promtool.
NO_GO, NOT_BUILT = 3, 4
ALERTS = (
    "CelsiusifyHighErrorRatio",
    "CelsiusifyLatencyP99AboveSLO",
    "CelsiusifyPodsNotReady",
    "CelsiusifyHPAAtMaximum",
)
# One sample a minute and one evaluation a minute: the ServiceMonitor scrapes every 30s, but a
# steady counter's rate over 5m, and a `for:` in whole minutes, come out the same.
STEP_MINUTES = 1
EVERY_MINUTE = range(0, 61, STEP_MINUTES)
KSM = {"job": "kube-state-metrics", "instance": "10.244.0.9:8080"}

TestGroup = dict[str, Any]


@pytest.fixture(name="promtool", scope="session")
def fixture_promtool() -> str:
    """$PROMTOOL, else the version-keyed cache's promtool that `make promtool` builds (make test
    does first). Never built here: a cold build takes longer than a test may."""
    if binary := os.environ.get("PROMTOOL"):
        return binary
    result = subprocess.run(
        ["bash", str(PROMTOOL_SCRIPT), "-n"], capture_output=True, text=True, check=False
    )
    if result.returncode in {NO_GO, NOT_BUILT}:
        pytest.skip(f"no promtool: {result.stderr.strip()}")
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def run_promtool(promtool: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`promtool ARGS` in `cwd` (test files name their rule files relative to themselves)."""
    return subprocess.run(
        [promtool, *args], capture_output=True, text=True, check=False, cwd=cwd, timeout=120
    )


# --- Series ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Release:
    """A release as the chart names it: the Deployment, Service (the scrape job) and HPA."""

    name: str
    namespace: str

    @property
    def fullname(self) -> str:
        """celsiusify.fullname: the release's name where it holds the chart's, else both."""
        return self.name if "celsiusify" in self.name else f"{self.name}-celsiusify"

    def target(self, **labels: str) -> dict[str, str]:
        """Labels of one of its pods' series as the ServiceMonitor's scrape gives them."""
        return {
            "job": self.fullname,
            "namespace": self.namespace,
            "service": self.fullname,
            "endpoint": "http",
            "pod": f"{self.fullname}-6d5f7c9b8-x7k2p",
            "container": "celsiusify",
            "instance": "10.244.0.17:8080",
            **labels,
        }


def selector(name: str, labels: dict[str, str]) -> str:
    """`name{key="value", ...}` as promtool's input_series spells a series."""
    pairs = ", ".join(f'{key}="{value}"' for key, value in labels.items())
    return f"{name}{{{pairs}}}"


def counter(*phases: tuple[int, float]) -> str:
    """Samples of a counter from 0 that grows by `per_minute` for `minutes`, phase by phase."""
    values = [0.0]
    for minutes, per_minute in phases:
        start = values[-1]
        values += [start + per_minute * (step + 1) for step in range(minutes)]
    return " ".join(f"{value:g}" for value in values)


def gauge(*phases: tuple[int, float]) -> str:
    """Samples of a gauge, phase by phase: `value` for `minutes + 1` samples (promtool's
    expanding notation: `1x10` is 1 eleven times)."""
    return " ".join(f"{value:g}x{minutes}" for minutes, value in phases)


def requests(labels: dict[str, str], *phases: tuple[int, float]) -> dict[str, str]:
    """celsiusify_http_requests_total of one route, method and status."""
    return {
        "series": selector("celsiusify_http_requests_total", labels),
        "values": counter(*phases),
    }


def latency(labels: dict[str, str], *phases: tuple[int, float, float]) -> list[dict[str, str]]:
    """celsiusify_http_request_duration_seconds of one route and method: each phase is `minutes`
    of `per_minute` requests that each took `seconds` (cumulative buckets, le as the app writes
    them, then _count and _sum)."""
    bounds = [*(repr(bound) for bound in LATENCY_BUCKETS), "+Inf"]
    series = []
    for bound in bounds:
        in_bucket = [(m, n if s <= float(bound) else 0.0) for m, n, s in phases]
        series.append(
            {
                "series": selector(
                    "celsiusify_http_request_duration_seconds_bucket", {**labels, "le": bound}
                ),
                "values": counter(*in_bucket),
            }
        )
    name = "celsiusify_http_request_duration_seconds"
    series.append(
        {
            "series": selector(f"{name}_count", labels),
            "values": counter(*[(m, n) for m, n, _ in phases]),
        }
    )
    series.append(
        {
            "series": selector(f"{name}_sum", labels),
            "values": counter(*[(m, n * s) for m, n, s in phases]),
        }
    )
    return series


def never_fires(
    name: str, alert: str, series: list[dict[str, str]], times: Iterable[int] = EVERY_MINUTE
) -> TestGroup:
    """A test group in which `alert` is not firing at any of `times` (minutes)."""
    return {
        "name": name,
        "interval": f"{STEP_MINUTES}m",
        "input_series": series,
        "alert_rule_test": [
            {"eval_time": f"{minute}m", "alertname": alert, "exp_alerts": []} for minute in times
        ],
    }


def fires(
    name: str,
    alert: str,
    series: list[dict[str, str]],
    *,
    from_minute: int,
    labels: dict[str, str],
    annotations: dict[str, str],
) -> TestGroup:
    """A test group in which `alert` is still pending (not firing) a minute before `from_minute`
    and fires from then on (checked 10 minutes later too), with exactly these labels and
    annotations: `from_minute` is its `for:` after the first evaluation that holds."""
    expected = {"exp_labels": labels, "exp_annotations": annotations}
    return {
        "name": name,
        "interval": f"{STEP_MINUTES}m",
        "input_series": series,
        "alert_rule_test": [
            {"eval_time": f"{from_minute - 1}m", "alertname": alert, "exp_alerts": []},
            {"eval_time": f"{from_minute}m", "alertname": alert, "exp_alerts": [expected]},
            {"eval_time": f"{from_minute + 10}m", "alertname": alert, "exp_alerts": [expected]},
        ],
    }


# --- The cases, per alert -------------------------------------------------------------------------


def error_ratio_cases(release: Release) -> list[TestGroup]:
    """5xx share of the release's requests (probes and /metrics left out) above 1 % for 5m."""
    alert = "CelsiusifyHighErrorRatio"
    app = release.target
    other = Release("other", release.namespace).target
    minutes = 40
    return [
        # 5 % of /convert answered 5xx (load shedding and a few 500s): past 1 % for 5m.
        fires(
            "5xx above 1% of requests for 5m fires",
            alert,
            [
                requests(app(route="/convert", method="GET", status="200"), (minutes, 900)),
                requests(app(route="/convert", method="POST", status="200"), (minutes, 50)),
                requests(app(route="/convert", method="GET", status="503"), (minutes, 30)),
                requests(app(route="/convert/", method="GET", status="500"), (minutes, 20)),
            ],
            from_minute=1 + 5,  # the first evaluation with a rate (two samples) is at 1m
            labels={"severity": "warning"},
            annotations={
                "summary": f"{release.namespace}/{release.fullname} answers more than 0.01 of "
                "requests with 5xx",
                "description": "5xx share over 5 minutes is 5%. 503 means load shedding: the pods "
                "are past their concurrency limit (scale out, or raise "
                "CELSIUSIFY_MAX_REQUESTS_IN_FLIGHT with CPU).",
            },
        ),
        never_fires(
            "5xx at 0.5% of requests stays quiet",
            alert,
            [
                requests(app(route="/convert", method="GET", status="200"), (minutes, 995)),
                requests(app(route="/convert", method="GET", status="503"), (minutes, 5)),
            ],
        ),
        # A draining pod answers its probes 503, a failed scrape is Prometheus's own problem, and
        # another release's 500s are its own alert's.
        never_fires(
            "probe 503s and another release's 5xx stay quiet",
            alert,
            [
                requests(app(route="/convert", method="GET", status="200"), (minutes, 1000)),
                requests(app(route="/readyz", method="GET", status="503"), (minutes, 12)),
                requests(app(route="/healthz", method="GET", status="503"), (minutes, 6)),
                requests(app(route="/metrics", method="GET", status="500"), (minutes, 2)),
                requests(other(route="/convert", method="GET", status="500"), (minutes, 1000)),
            ],
        ),
        # One minute of shedding: above 1 % for the 4 evaluations whose 5m window holds it.
        never_fires(
            "a one-minute burst of 503s is shorter than for: 5m",
            alert,
            [
                requests(app(route="/convert", method="GET", status="200"), (minutes, 950)),
                requests(
                    app(route="/convert", method="GET", status="503"),
                    (10, 0),
                    (1, 200),
                    (minutes - 11, 0),
                ),
            ],
        ),
    ]


def latency_cases(release: Release) -> list[TestGroup]:
    """p99 of the release's /convert (GET and batch POST, both spellings) above 50 ms for 10m."""
    alert = "CelsiusifyLatencyP99AboveSLO"
    app = release.target
    other = Release("other", release.namespace).target
    minutes = 40
    # GETs on both spellings take 4 ms, and 3 % of all /convert requests (batch POSTs here)
    # 200 ms: p99 lands in the (0.1, 0.25] bucket, at exactly 0.2 by its linear estimate.
    slow = [
        *latency(app(route="/convert", method="GET"), (minutes, 580, 0.004)),
        *latency(app(route="/convert/", method="GET"), (minutes, 390, 0.004)),
        *latency(app(route="/convert", method="POST"), (minutes, 30, 0.2)),
    ]
    return [
        fires(
            "p99 of /convert above 50 ms for 10m fires",
            alert,
            slow,
            from_minute=1 + 10,
            labels={"severity": "warning"},
            annotations={
                "summary": f"{release.namespace}/{release.fullname} p99 latency of /convert is "
                "above the 0.05s SLO",
                "description": "p99 over 5 minutes is 200ms. Check CPU throttling against the "
                "limit and whether the HPA is at its maximum.",
            },
        ),
        # 0.5 % slow keeps p99 under 5 ms; slow scrapes, unknown paths and another release's
        # /convert are not this SLO's.
        never_fires(
            "p99 under the SLO stays quiet; other routes and releases do not count",
            alert,
            [
                *latency(app(route="/convert", method="GET"), (minutes, 995, 0.004)),
                *latency(app(route="/convert", method="POST"), (minutes, 5, 0.2)),
                *latency(app(route="/metrics", method="GET"), (minutes, 2, 0.3)),
                *latency(app(route="<unmatched>", method="GET"), (minutes, 50, 1.5)),
                *latency(other(route="/convert", method="GET"), (minutes, 1000, 0.4)),
            ],
        ),
        never_fires(
            "3 minutes of slow answers are shorter than for: 10m",
            alert,
            [
                *latency(
                    app(route="/convert", method="GET"), (3, 970, 0.08), (minutes - 3, 1000, 0.004)
                ),
            ],
        ),
    ]


def pods_not_ready_cases(release: Release) -> list[TestGroup]:
    """kube-state-metrics: the release's Deployment has an unavailable replica for 15m."""
    alert = "CelsiusifyPodsNotReady"
    name = "kube_deployment_status_replicas_unavailable"
    own = {**KSM, "namespace": release.namespace, "deployment": release.fullname}
    return [
        fires(
            "a replica unavailable for 15m fires",
            alert,
            [{"series": selector(name, own), "values": gauge((40, 1))}],
            from_minute=0 + 15,
            labels={**own, "severity": "warning"},
            annotations={
                "summary": f"{release.namespace}/{release.fullname} has replicas that are not "
                "ready",
                "description": "1 replica(s) unavailable: see kubectl describe pod (probes, "
                "scheduling, image pulls).",
            },
        ),
        never_fires(
            "all replicas available stays quiet; other Deployments do not count",
            alert,
            [
                {"series": selector(name, own), "values": gauge((60, 0))},
                {
                    "series": selector(
                        name, {**own, "deployment": f"{release.fullname}-tfserving"}
                    ),
                    "values": gauge((60, 2)),
                },
                {
                    "series": selector(name, {**own, "namespace": "elsewhere"}),
                    "values": gauge((60, 1)),
                },
            ],
        ),
        # A rolling update whose new pod takes 10 minutes to become ready.
        never_fires(
            "a replica unavailable for 10m is shorter than for: 15m",
            alert,
            [{"series": selector(name, own), "values": gauge((10, 1), (50, 0))}],
        ),
    ]


def hpa_cases(release: Release) -> list[TestGroup]:
    """kube-state-metrics: the release's HPA at (or above) its maximum for 30m."""
    alert = "CelsiusifyHPAAtMaximum"
    hpa = {**KSM, "namespace": release.namespace, "horizontalpodautoscaler": release.fullname}
    current = "kube_horizontalpodautoscaler_status_current_replicas"
    maximum = "kube_horizontalpodautoscaler_spec_max_replicas"
    return [
        fires(
            "at maxReplicas for 30m fires",
            alert,
            [
                {"series": selector(current, hpa), "values": gauge((60, 5))},
                {"series": selector(maximum, hpa), "values": gauge((60, 5))},
            ],
            from_minute=0 + 30,
            labels={**hpa, "severity": "warning"},
            annotations={
                "summary": f"{release.namespace}/{release.fullname} has run at its HPA maximum "
                "(5 replicas) for 30m",
                "description": "The autoscaler cannot add capacity: raise "
                "autoscaling.maxReplicas, or expect load shedding (503) and latency above the SLO.",
            },
        ),
        never_fires(
            "below maxReplicas stays quiet; another HPA at its maximum does not count",
            alert,
            [
                {"series": selector(current, hpa), "values": gauge((60, 3))},
                {"series": selector(maximum, hpa), "values": gauge((60, 5))},
                {
                    "series": selector(current, {**hpa, "horizontalpodautoscaler": "other"}),
                    "values": gauge((60, 5)),
                },
                {
                    "series": selector(maximum, {**hpa, "horizontalpodautoscaler": "other"}),
                    "values": gauge((60, 5)),
                },
            ],
        ),
        never_fires(
            "at maxReplicas for 20m is shorter than for: 30m",
            alert,
            [
                {"series": selector(current, hpa), "values": gauge((20, 5), (40, 4))},
                {"series": selector(maximum, hpa), "values": gauge((60, 5))},
            ],
        ),
    ]


CASES: dict[str, Callable[[Release], list[TestGroup]]] = {
    "CelsiusifyHighErrorRatio": error_ratio_cases,
    "CelsiusifyLatencyP99AboveSLO": latency_cases,
    "CelsiusifyPodsNotReady": pods_not_ready_cases,
    "CelsiusifyHPAAtMaximum": hpa_cases,
}


# --- The rule file and the test files -------------------------------------------------------------


@dataclass(frozen=True)
class RuleFile:
    """The rendered groups of one release, written where promtool's test files sit."""

    release: Release
    groups: list[dict[str, Any]]
    folder: Path

    @property
    def path(self) -> Path:
        """The rule file as rendered."""
        return self.folder / "rules.yaml"

    def write(self, groups: list[dict[str, Any]] | None = None, name: str = "rules.yaml") -> Path:
        """Write `groups` (default: as rendered) as a rule file `name` beside the test files."""
        path = self.folder / name
        path.write_text(yaml.safe_dump({"groups": self.groups if groups is None else groups}))
        return path

    def unit_tests(
        self, alert: str, rules: Path | None = None, only: Container[str] | None = None
    ) -> Path:
        """A promtool test file with `alert`'s cases (`only` those named) against `rules`
        (default: as rendered)."""
        path = self.folder / f"test-{alert}-{(rules or self.path).stem}.yaml"
        cases = [
            case for case in CASES[alert](self.release) if only is None or case["name"] in only
        ]
        assert cases, f"no case of {alert} named {only}"
        test_file = {
            "rule_files": [(rules or self.path).name],
            "evaluation_interval": f"{STEP_MINUTES}m",
            "tests": cases,
        }
        path.write_text(yaml.safe_dump(test_file, sort_keys=False))
        return path


def rendered_rules(
    render: Callable[..., Objects], release: Release, folder: Path, *sets: str
) -> RuleFile:
    """The PrometheusRule's spec.groups, rendered with `sets`, written as a Prometheus rule file."""
    rule = one(
        render(sets=(*MONITORING_FORCED, *sets), release=release.name, namespace=release.namespace),
        "PrometheusRule",
    )
    rules = RuleFile(release, rule["spec"]["groups"], folder)
    rules.write()
    return rules


@pytest.fixture(
    name="rule_file",
    scope="module",
    params=[Release("demo", "bench"), Release("celsiusify", "prod")],
    ids=lambda release: f"{release.name}-in-{release.namespace}",
)
def fixture_rule_file(
    request: pytest.FixtureRequest,
    render: Callable[..., Objects],
    tmp_path_factory: pytest.TempPathFactory,
) -> RuleFile:
    """The PrometheusRule's spec.groups as a Prometheus rule file, for a release whose full name
    adds the chart's and for one whose name already holds it."""
    return rendered_rules(render, request.param, tmp_path_factory.mktemp("rules"))


def test_every_alert_has_cases(rule_file: RuleFile) -> None:
    """An alert added to the chart without cases here fails until it has them."""
    alerts = {rule["alert"] for group in rule_file.groups for rule in group["rules"]}
    assert alerts == set(ALERTS) == set(CASES)


def test_promtool_checks_the_rendered_rules(promtool: str, rule_file: RuleFile) -> None:
    """Prometheus loads the rendered groups: PromQL, durations and templates parse."""
    result = run_promtool(promtool, "check", "rules", rule_file.path.name, cwd=rule_file.folder)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(ALERTS)} rules found" in result.stdout


@pytest.mark.parametrize("alert", ALERTS)
def test_alert_fires_on_its_cases_and_only_those(
    promtool: str, rule_file: RuleFile, alert: str
) -> None:
    """Prometheus's rule engine fires the alert on its firing case, with those labels and
    annotations, only after `for:`, and never on its quiet cases."""
    tests = rule_file.unit_tests(alert)
    result = run_promtool(promtool, "test", "rules", tests.name, cwd=rule_file.folder)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
    assert "FAILED" not in result.stdout + result.stderr


# What each alert's expression reads, misspelt in a copy of the rules: a rule that selects
# nothing must make its firing case fail, or the harness proves nothing.
MISSPELT = {
    "CelsiusifyHighErrorRatio": ("celsiusify_http_requests_total", "celsiusify_http_request_total"),
    "CelsiusifyLatencyP99AboveSLO": (
        "celsiusify_http_request_duration_seconds_bucket",
        "celsiusify_http_request_duration_bucket",
    ),
    "CelsiusifyPodsNotReady": (
        "kube_deployment_status_replicas_unavailable",
        "kube_deployment_status_replicas_unavailble",
    ),
    "CelsiusifyHPAAtMaximum": (
        "kube_horizontalpodautoscaler_spec_max_replicas",
        "kube_hpa_spec_max_replicas",
    ),
}


@pytest.mark.parametrize("alert", ALERTS)
def test_a_rule_with_a_misspelt_metric_fails_its_firing_case(
    promtool: str, rule_file: RuleFile, alert: str
) -> None:
    """The harness can fail: the same cases against a rule that reads a misspelt metric."""
    right, wrong = MISSPELT[alert]
    groups: list[dict[str, Any]] = yaml.safe_load(yaml.safe_dump(rule_file.groups))
    (rule,) = [r for group in groups for r in group["rules"] if r["alert"] == alert]
    assert right in rule["expr"]
    rule["expr"] = rule["expr"].replace(right, wrong)
    broken = rule_file.write(groups, name=f"misspelt-{alert}.yaml")
    # Still valid PromQL: only evaluating it against series can tell.
    checked = run_promtool(promtool, "check", "rules", broken.name, cwd=rule_file.folder)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    result = run_promtool(
        promtool, "test", "rules", rule_file.unit_tests(alert, broken).name, cwd=rule_file.folder
    )
    assert result.returncode == 1, result.stdout + result.stderr
    output = result.stdout + result.stderr
    assert "FAILED" in output
    firing_case = CASES[alert](rule_file.release)[0]["name"]
    assert re.search(rf"name: {re.escape(firing_case)},\s+alertname: {alert}, time: \d+m", output)


# Quiet cases that are quiet because of one value of the rule: with a value that lets them through,
# each fails, so none of them passes on series that the rule never selects.
QUIET_BECAUSE = {
    ("CelsiusifyHighErrorRatio", "5xx at 0.5% of requests stays quiet"): (
        "metrics.prometheusRule.errorRatioThreshold=0.004"
    ),
    ("CelsiusifyHighErrorRatio", "a one-minute burst of 503s is shorter than for: 5m"): (
        "metrics.prometheusRule.errorRatioFor=2m"
    ),
    (
        "CelsiusifyLatencyP99AboveSLO",
        "p99 under the SLO stays quiet; other routes and releases do not count",
    ): "metrics.prometheusRule.latencySLOSeconds=0.004",
    ("CelsiusifyLatencyP99AboveSLO", "3 minutes of slow answers are shorter than for: 10m"): (
        "metrics.prometheusRule.latencyFor=2m"
    ),
    ("CelsiusifyPodsNotReady", "a replica unavailable for 10m is shorter than for: 15m"): (
        "metrics.prometheusRule.podsNotReadyFor=5m"
    ),
    ("CelsiusifyHPAAtMaximum", "at maxReplicas for 20m is shorter than for: 30m"): (
        "metrics.prometheusRule.hpaAtMaxFor=10m"
    ),
}


@pytest.mark.parametrize(
    ("alert", "case", "value"), [(*key, value) for key, value in QUIET_BECAUSE.items()]
)
def test_a_quiet_case_fires_once_its_value_lets_it(
    promtool: str,
    render: Callable[..., Objects],
    tmp_path: Path,
    alert: str,
    case: str,
    value: str,
) -> None:
    """Each quiet case is quiet for the reason it names: below the threshold, or shorter than
    `for:`. With a lower threshold or a shorter `for:` the same series fire the alert."""
    rules = rendered_rules(render, Release("demo", "bench"), tmp_path, value)
    result = run_promtool(
        promtool, "test", "rules", rules.unit_tests(alert, only={case}).name, cwd=tmp_path
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert f"name: {case}," in output
    assert f"alertname: {alert}," in output
