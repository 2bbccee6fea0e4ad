"""Every manifest `make e2e` installs, rendered exactly as it installs it (the driver's own helm
commands), passes the chart tests' checks: the Kubernetes 1.30 and 1.37 schemas in strict mode
and the API server's rules (tests/k8s_rules.py), including deliveryhero/locust with the e2e
values. And the CPU budget written in e2e/values/locust.yaml is what the renders request and fits
one 4-CPU node."""

from __future__ import annotations

import copy
import shlex
from pathlib import Path

import pytest
import yaml

from bench.measure.hpa import millicores
from e2e.commands import Tools
from e2e.gate import peak_cpu_requests, written_budget
from e2e.loaders import KindLoader
from e2e.plan import METRICS_SERVER_CPU_REQUEST, SHAPES, TARGETS, Images, Plan
from e2e.shell import execute
from targets import Target
from tests.helpers.e2e import NAMESPACE, ROOT, TAG
from tests.helpers.helm import Objects
from tests.helpers.objects import validate_object
from tests.k8s_rules import violations

NODE_MILLICORES = 4000
BUDGET = ROOT / "e2e" / "values" / "locust.yaml"
# kind v0.31.0's system pods (kubeadm's static pods, CoreDNS, kindnet), from their manifests.
KIND_SYSTEM = {
    "etcd": 100,
    "kube-apiserver": 250,
    "kube-controller-manager": 200,
    "kube-scheduler": 100,
    "coredns": 2 * 100,
    "kindnet": 100,
}


def e2e_plan(helm: str, chart: Path, workers: int = 2) -> Plan:
    return Plan(
        namespace=NAMESPACE,
        images=Images(TAG),
        loader=KindLoader(),
        targets=tuple(TARGETS.values()),
        shape=SHAPES["standard"],
        workers=workers,
        locust_chart=str(chart),
        tools=Tools(helm=helm),
    )


def rendered(plan: Plan, what: str, target: Target) -> Objects:
    if what == "release":
        command = plan.release_template(target)
    else:
        args = execute(plan.locust_make_args(target), 60)
        assert args.ok, args.stderr
        command = plan.locust_template(target, shlex.split(args.stdout))
    result = execute(command, 120)
    assert result.ok, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="module")
def renders(helm: str, locust_chart: Path) -> dict[tuple[str, str], Objects]:
    plan = e2e_plan(helm, locust_chart)
    return {
        (what, target.name): rendered(plan, what, target)
        for target in TARGETS.values()
        for what in ("release", "locust")
    }


@pytest.mark.parametrize("what", ["release", "locust"])
@pytest.mark.parametrize("target", sorted(TARGETS))
def test_what_e2e_installs_passes_the_schemas_and_the_api_servers_rules(
    renders: dict[tuple[str, str], Objects], what: str, target: str
) -> None:
    objects = renders[(what, target)]
    assert objects
    for obj in objects:
        assert obj["metadata"].get("namespace", NAMESPACE) == NAMESPACE, obj["metadata"]
        for version in ("1.30", "1.37"):
            validate_object(obj, version)
    assert violations(objects) == []


def test_the_rules_refuse_a_broken_e2e_render(renders: dict[tuple[str, str], Objects]) -> None:
    """The same check fails once a worker's CPU request exceeds its limit."""
    objects = copy.deepcopy(renders[("locust", "celsiusify")])
    worker = next(
        o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"].endswith("worker")
    )
    container = worker["spec"]["template"]["spec"]["containers"][0]
    container["resources"] = {"requests": {"cpu": "2"}, "limits": {"cpu": "400m"}}
    assert any("request" in problem for problem in violations(objects))


def measured_budget(renders: dict[tuple[str, str], Objects]) -> dict[str, int]:
    """The budget's lines as the renders request them (one Locust release at a time)."""
    budget = {}
    for name in TARGETS:
        budget[name] = round(sum(peak_cpu_requests(renders[("release", name)]).values()))
    locust = peak_cpu_requests(renders[("locust", "celsiusify")])
    assert sorted(locust.values()) == sorted(
        peak_cpu_requests(renders[("locust", "tfserving")]).values()
    )
    budget["locust-master"] = round(sum(v for k, v in locust.items() if k.endswith("master")))
    budget["locust-workers"] = round(sum(v for k, v in locust.items() if k.endswith("worker")))
    return budget


def budget_problems(written: dict[str, int], measured: dict[str, int]) -> list[str]:
    problems = [
        f"{name}: written {written.get(name)}m, rendered {value}m"
        for name, value in measured.items()
        if written.get(name) != value
    ]
    parts = sum(value for name, value in written.items() if name != "total")
    if written.get("total") != parts:
        problems.append(f"total: written {written.get('total')}m, the lines add up to {parts}m")
    if parts > NODE_MILLICORES:
        problems.append(f"{parts}m does not fit {NODE_MILLICORES}m")
    return problems


def test_the_written_budget_is_what_the_renders_request_and_fits_four_cpus(
    renders: dict[tuple[str, str], Objects],
) -> None:
    written = written_budget(BUDGET.read_text())
    assert set(written) == {
        "system",
        "celsiusify",
        "tfserving",
        "locust-master",
        "locust-workers",
        "total",
    }
    assert budget_problems(written, measured_budget(renders)) == []
    assert written["total"] <= NODE_MILLICORES
    # The system line: kind's pods plus the metrics-server the run installs with this request.
    metrics_server = millicores(METRICS_SERVER_CPU_REQUEST)
    assert written["system"] == sum(KIND_SYSTEM.values()) + metrics_server


def test_the_budget_check_fails_when_a_release_grows(
    helm: str, locust_chart: Path, renders: dict[tuple[str, str], Objects]
) -> None:
    written = written_budget(BUDGET.read_text())
    measured = measured_budget(renders)
    assert budget_problems(written, {**measured, "celsiusify": measured["celsiusify"] * 2})
    assert budget_problems(
        {**written, "tfserving": 3000, "total": written["total"] + 2000}, measured
    )
    # --workers 4 is measured, and no longer fits the written budget.
    more = rendered(e2e_plan(helm, locust_chart, workers=4), "locust", TARGETS["celsiusify"])
    workers = sum(v for k, v in peak_cpu_requests(more).items() if k.endswith("worker"))
    assert workers == 4 * 400 != written["locust-workers"]
