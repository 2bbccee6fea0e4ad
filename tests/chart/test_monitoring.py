"""Prometheus Operator objects and the Grafana dashboard: rendered only where they can work, and
every query names a metric that exists (the app's own /metrics, scraped here, or a standard
kube-state-metrics / cAdvisor series)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers.helm import CHART, MONITORING_FORCED, Objects, run_helm
from tests.helpers.objects import by_kind, one, validate_object

pytestmark = pytest.mark.helm

DASHBOARD = CHART / "dashboards" / "celsiusify.json"
# Standard series the queries may use besides the app's: kube-state-metrics v2 and cAdvisor.
STANDARD_METRICS = {
    "kube_deployment_status_replicas_unavailable",
    "kube_horizontalpodautoscaler_spec_max_replicas",
    "kube_horizontalpodautoscaler_status_current_replicas",
    "kube_horizontalpodautoscaler_status_desired_replicas",
    "kube_pod_container_resource_requests",
    "container_cpu_usage_seconds_total",
}
FUNCTIONS = {
    "sum", "avg", "max", "min", "count", "rate", "irate", "increase", "histogram_quantile",
    "label_values", "clamp_min", "topk", "abs", "vector",
}  # fmt: skip
KEYWORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
    "bool",
}
API_VERSIONS = ("--api-versions", "monitoring.coreos.com/v1")


def metric_names(expr: str) -> set[str]:
    """Series names a PromQL expression selects (strings, matchers, ranges, grouping dropped);
    fails on a word that is neither a known function, a keyword nor a metric."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        word, rest = match.group(), text[match.end() :]
        if re.match(r"\s*\(", rest):
            assert word in FUNCTIONS, f"unknown function {word} in {expr}"
        elif word not in KEYWORDS:
            names.add(word)
    return names


@pytest.fixture(scope="module")
def app_metrics() -> set[str]:
    """Sample names of the app's /metrics after one request (histograms: _bucket, _sum, _count)."""
    from app.main import create_app  # noqa: PLC0415 — the app only where this module runs

    with TestClient(create_app()) as client:
        assert client.get("/convert?fahrenheit=212").status_code == 200
        text = client.get("/metrics").text
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}
    names = set()
    for family in text_string_to_metric_families(text):  # families without samples count too
        names |= {family.name + suffix for suffix in suffixes.get(family.type, ("",))}
        names |= {sample.name for sample in family.samples}
    assert {
        "celsiusify_http_requests_total",
        "celsiusify_http_request_duration_seconds_bucket",
    } <= names
    return names


def assert_known(expr: str, app_metrics: set[str]) -> set[str]:
    names = metric_names(expr)
    assert names, f"no metric in {expr}"
    unknown = names - app_metrics - STANDARD_METRICS
    assert not unknown, f"{expr}: {unknown} is neither exported by the app nor standard"
    return names


def test_metric_names_parser() -> None:
    expr = 'sum by (le) (rate(a_bucket{x="y{z}", le!="1"}[5m])) / on (pod) group_left() b > 0.5'
    assert metric_names(expr) == {"a_bucket", "b"}
    with pytest.raises(AssertionError, match="unknown function"):
        metric_names("nosuchfn(a)")


# --- ServiceMonitor and PrometheusRule ------------------------------------------------------------


def test_rendered_only_where_the_api_is_served(helm: str, render: Callable[..., Objects]) -> None:
    enabled = ("metrics.serviceMonitor.enabled=true", "metrics.prometheusRule.enabled=true")
    assert not by_kind(render(sets=enabled), "ServiceMonitor")
    assert not by_kind(render(sets=enabled), "PrometheusRule")
    args = ["template", "demo", str(CHART), *API_VERSIONS]
    served = run_helm(helm, *args, *(f"--set={pair}" for pair in enabled))
    assert served.returncode == 0, served.stderr
    assert "kind: ServiceMonitor" in served.stdout
    assert "kind: PrometheusRule" in served.stdout
    # Served but not enabled: nothing.
    assert "monitoring.coreos.com" not in run_helm(helm, *args).stdout
    forced = render(sets=MONITORING_FORCED)
    assert by_kind(forced, "ServiceMonitor")
    assert by_kind(forced, "PrometheusRule")


@pytest.mark.parametrize("values", [(), ("tfserving/values.yaml",)])
def test_service_monitor_scrapes_the_service_http_port(
    render: Callable[..., Objects], values: tuple[str, ...]
) -> None:
    objects = render(
        *values, sets=(*MONITORING_FORCED, "metrics.serviceMonitor.labels.release=kps")
    )
    monitor, service = one(objects, "ServiceMonitor"), one(objects, "Service")
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    assert monitor["spec"]["namespaceSelector"] == {
        "matchNames": [service["metadata"]["namespace"]]
    }
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] in {port["name"] for port in service["spec"]["ports"]}
    path = "/monitoring/prometheus/metrics" if values else "/metrics"
    assert endpoint["path"] == path
    assert monitor["metadata"]["labels"]["release"] == "kps"


def test_prometheus_rule_alerts(render: Callable[..., Objects], app_metrics: set[str]) -> None:
    rule = one(render(sets=MONITORING_FORCED), "PrometheusRule")
    (group,) = rule["spec"]["groups"]
    alerts = {r["alert"]: r for r in group["rules"]}
    assert set(alerts) == {
        "CelsiusifyHighErrorRatio", "CelsiusifyLatencyP99AboveSLO",
        "CelsiusifyPodsNotReady", "CelsiusifyHPAAtMaximum",
    }  # fmt: skip
    for alert in alerts.values():
        assert_known(alert["expr"], app_metrics)
        assert alert["labels"]["severity"] == "warning"
        assert alert["annotations"]["summary"]
    errors = alerts["CelsiusifyHighErrorRatio"]["expr"]
    assert 'status=~"5.."' in errors
    assert (
        'route!~"/healthz|/readyz|/metrics"' in errors
    )  # a draining pod's 503 probes are not errors
    latency = alerts["CelsiusifyLatencyP99AboveSLO"]["expr"]
    assert "histogram_quantile(0.99" in latency
    assert "celsiusify_http_request_duration_seconds_bucket" in latency
    assert latency.rstrip().endswith("> 0.05")
    for expr in (errors, latency):
        assert 'job="demo-celsiusify", namespace="bench"' in expr
    hpa = alerts["CelsiusifyHPAAtMaximum"]["expr"]
    assert 'horizontalpodautoscaler="demo-celsiusify"' in hpa


def test_prometheus_rule_values_and_hpa_off(render: Callable[..., Objects]) -> None:
    rule = one(
        render(sets=(*MONITORING_FORCED, "metrics.prometheusRule.latencySLOSeconds=0.1",
                     "autoscaling.enabled=false")),
        "PrometheusRule",
    )  # fmt: skip
    alerts = {r["alert"]: r for r in rule["spec"]["groups"][0]["rules"]}
    assert "CelsiusifyHPAAtMaximum" not in alerts  # no HPA, nothing to be at its maximum
    assert alerts["CelsiusifyLatencyP99AboveSLO"]["expr"].rstrip().endswith("> 0.1")


def test_crd_schemas_refuse_what_the_api_server_refuses(render: Callable[..., Objects]) -> None:
    objects = render(sets=MONITORING_FORCED)
    monitor, rule = one(objects, "ServiceMonitor"), one(objects, "PrometheusRule")
    monitor["spec"]["endpoints"][0]["scrapeInterval"] = "30s"  # not a field: interval is
    with pytest.raises(Exception, match="scrapeInterval"):
        validate_object(monitor, "1.30.0")
    del rule["spec"]["groups"][0]["rules"][0]["expr"]
    with pytest.raises(Exception, match="expr"):
        validate_object(rule, "1.30.0")


# --- Grafana dashboard ---------------------------------------------------------------------------


def dashboard_queries(dashboard: dict[str, Any]) -> list[str]:
    queries = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            match = re.fullmatch(r"label_values\((.*),\s*\w+\)", variable["query"]["query"])
            assert match, variable
            queries.append(match.group(1))
    return queries


def test_dashboard_json_is_valid_and_every_query_names_a_real_metric(app_metrics: set[str]) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    used: set[str] = set()
    for query in dashboard_queries(dashboard):
        used |= assert_known(query, app_metrics)
    # What the issue asks the dashboard to show.
    assert {
        "celsiusify_http_requests_total",
        "celsiusify_http_request_duration_seconds_bucket",
        "kube_horizontalpodautoscaler_status_current_replicas",
        "kube_horizontalpodautoscaler_status_desired_replicas",
        "container_cpu_usage_seconds_total",
        "kube_pod_container_resource_requests",
    } <= used
    exprs = " ".join(dashboard_queries(dashboard))
    for quantile in ("0.5", "0.9", "0.99"):
        assert f"histogram_quantile({quantile}," in exprs
    assert 'status=~"5.."' in exprs
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == "${datasource}"


def test_dashboard_config_map(render: Callable[..., Objects]) -> None:
    config_map = one(render(sets=("dashboard.enabled=true",)), "ConfigMap")
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(config_map["data"]["celsiusify.json"]) == json.loads(DASHBOARD.read_text())
    elsewhere = one(
        render(sets=("dashboard.enabled=true", "dashboard.namespace=monitoring")), "ConfigMap"
    )
    assert elsewhere["metadata"]["namespace"] == "monitoring"
