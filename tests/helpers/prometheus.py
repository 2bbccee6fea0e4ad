"""The local cluster's Prometheus (scripts/cluster/up.sh's start_prometheus): its HTTP API on
loopback, the rule files it evaluates, and the chart's PrometheusRule and Grafana dashboard
rendered into what it reads."""

from __future__ import annotations

import json
import re
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from tests.helpers.cluster import cluster_var


class Prometheus:
    """The HTTP API at ADDRESS (host:port); rule files go to RULES_DIR and load on reload()."""

    def __init__(self, address: str, rules_dir: Path) -> None:
        self.url = f"http://{address}"
        self.rules_dir = rules_dir

    @classmethod
    def of_the_cluster(cls) -> Prometheus:
        return cls(cluster_var("PROMETHEUS_ADDRESS"), Path(cluster_var("PROMETHEUS_RULES_DIR")))

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def api(self, path: str, **params: str) -> Any:
        """GET /api/v1/<path>?params; its `data`, after checking `status` is success."""
        query = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}?{query}", timeout=10) as response:
            body = json.loads(response.read())
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's result vector."""
        data = self.api("query", query=expr)
        assert data["resultType"] == "vector", data
        return list(data["result"])

    def reload(self) -> None:
        """POST /-/reload (--web.enable-lifecycle): the rule files are read again."""
        request = urllib.request.Request(f"{self.url}/-/reload", method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200

    def load_rules(self, name: str, groups: list[dict[str, Any]]) -> Path:
        """Write a rule file of these groups and reload; its path (remove it, then reload)."""
        path = self.rules_dir / f"{name}.yaml"
        path.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
        self.reload()
        names = {g["name"] for g in self.api("rules")["groups"]}
        assert {g["name"] for g in groups} <= names, names
        return path

    def alerts(self, name: str) -> list[dict[str, Any]]:
        """The alerts of that name in /api/v1/alerts (pending or firing)."""
        return [a for a in self.api("alerts")["alerts"] if a["labels"]["alertname"] == name]

    def wait(self, what: str, seconds: float, check: Any) -> Any:
        """Call check() every second until it returns something truthy; that value."""
        deadline = time.monotonic() + seconds
        while True:
            found = check()
            if found:
                return found
            assert time.monotonic() < deadline, f"{what}: not within {seconds:.0f}s"
            time.sleep(1)


def rendered_objects(manifest: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(manifest) if doc]


def rule_groups(manifest: str) -> list[dict[str, Any]]:
    """spec.groups of the PrometheusRule in a rendered chart: what the Prometheus Operator
    would hand Prometheus as a rule file."""
    rules = [o for o in rendered_objects(manifest) if o["kind"] == "PrometheusRule"]
    assert len(rules) == 1, [o["kind"] for o in rendered_objects(manifest)]
    return list(rules[0]["spec"]["groups"])


def dashboard(manifest: str) -> dict[str, Any]:
    """The Grafana dashboard JSON of the chart's dashboard ConfigMap."""
    maps = [
        o
        for o in rendered_objects(manifest)
        if o["kind"] == "ConfigMap" and "celsiusify.json" in o.get("data", {})
    ]
    assert len(maps) == 1, [o["metadata"]["name"] for o in rendered_objects(manifest)]
    return dict(json.loads(maps[0]["data"]["celsiusify.json"]))


def dashboard_queries(board: dict[str, Any], variables: dict[str, str]) -> dict[str, str]:
    """Every panel query, keyed "<panel title> / <legend>", with Grafana's variables replaced
    ($namespace, $job, $__rate_interval, ...) as Grafana would before sending it."""

    def fill(expr: str) -> str:
        return re.sub(r"\$(\w+)", lambda m: variables[m.group(1)], expr)

    return {
        f"{panel['title']} / {target.get('legendFormat', target['refId'])}": fill(target["expr"])
        for panel in board["panels"]
        for target in panel.get("targets", [])
    }


def variable_queries(board: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """The query variables' label_values(<selector>, <label>) as name: (selector, label)."""
    found = {}
    for var in board["templating"]["list"]:
        if var["type"] != "query":
            continue
        match = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", var["definition"])
        assert match, var["definition"]
        found[var["name"]] = (match.group(1), match.group(2))
    return found
