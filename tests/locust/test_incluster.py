"""The in-cluster load test as users install it: `make loadtest-template` (the flags of `make
loadtest-up`) renders deliveryhero/locust 0.35.0 with locust/values.yaml, for every way the docs
and the Makefile run it, and the objects are checked by the API server's rules and ours."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from bench.measure.run import parse_args
from targets import target_of_user
from tests.helpers.docs import docs_text
from tests.helpers.helm import LOCUST_CHART, Objects
from tests.helpers.objects import one
from tests.helpers.server import ServerProcess, free_port
from tests.k8s_rules import violations

ROOT = Path(__file__).resolve().parents[2]
# The pages that run `make loadtest-up`: deploy.md, and benchmark.md against TF Serving.
LOADTEST_DOCS = ("deploy.md", "benchmark.md")
VALUES = yaml.safe_load((ROOT / "locust" / "values.yaml").read_text())


def make(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip


def docs_loadtest_runs() -> dict[str, dict[str, str]]:
    """Every `make loadtest-up VAR=value …` of the docs, as its make variables."""
    runs = {}
    for block in re.findall(r"```bash\n(.*?)```", docs_text(*LOADTEST_DOCS), re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            for command in line.split(" #", 1)[0].split("&&"):
                if not command.strip().startswith("make loadtest-up"):
                    continue
                words = shlex.split(command)
                if words[:2] == ["make", "loadtest-up"]:
                    variables = dict(word.split("=", 1) for word in words[2:] if "=" in word)
                    name = "-".join(f"{k}={v}" for k, v in sorted(variables.items()))
                    runs[f"docs:{name or 'defaults'}"] = variables
    return runs


RUNS: dict[str, dict[str, str]] = {
    "headless": {},
    "ui": {"LOCUST_MODE": "ui"},
    "tfserving": {"LOCUST_TARGET": "tfserving"},
    "namespace-load": {"LOCUST_NAMESPACE": "load"},
    "seven-workers": {"LOCUST_WORKERS": "7"},
    **docs_loadtest_runs(),
}


@pytest.fixture(scope="module")
def locust_chart() -> Path:
    if not LOCUST_CHART.exists():
        pytest.skip(
            f"{LOCUST_CHART} is absent: the deliveryhero/locust 0.35.0 chart is read from "
            "../shared/charts/ (no chart repository is reachable from these machines)"
        )
    return LOCUST_CHART


@pytest.fixture(scope="module")
def render_loadtest(helm: str, locust_chart: Path) -> Callable[..., Objects]:
    """What `make loadtest-up VAR=value …` installs, rendered from the chart's tarball."""
    cache: dict[tuple[tuple[str, str], ...], Objects] = {}

    def _render(**variables: str) -> Objects:
        key = tuple(sorted(variables.items()))
        if key not in cache:
            assignments = [f"{name}={value}" for name, value in key]
            result = make(
                "-s", "loadtest-template", f"HELM={helm}", f"LOCUST_CHART={locust_chart}",
                *assignments,
            )  # fmt: skip
            assert result.returncode == 0, result.stderr
            cache[key] = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
        return cache[key]

    return _render


def deployment(objects: Objects, component: str) -> dict[str, Any]:
    (found,) = [
        obj
        for obj in objects
        if obj["kind"] == "Deployment" and obj["metadata"]["labels"]["component"] == component
    ]
    return found


def container_of(objects: Objects, component: str) -> dict[str, Any]:
    (main,) = deployment(objects, component)["spec"]["template"]["spec"]["containers"]
    return dict(main)


def env_of(objects: Objects, component: str) -> dict[str, str]:
    return {var["name"]: var.get("value", "") for var in container_of(objects, component)["env"]}


def test_the_docs_runs_are_all_rendered() -> None:
    documented = {tuple(sorted(v.items())) for k, v in RUNS.items() if k.startswith("docs:")}
    assert {(), (("LOCUST_MODE", "ui"),), (("LOCUST_TARGET", "tfserving"),)} <= documented


# --- finding 1: the master must pass the API server, in every mode -----------------------------


@pytest.mark.parametrize("run", sorted(RUNS))
def test_every_run_passes_the_api_server_rules(
    render_loadtest: Callable[..., Objects], run: str
) -> None:
    objects = render_loadtest(**RUNS[run])
    assert violations(objects) == []
    for obj in objects:
        kubernetes_validate.validate(obj, "1.30.0", strict=True)
    probe = container_of(objects, "master")["readinessProbe"]
    assert set(probe) & {"httpGet", "tcpSocket", "exec", "grpc"} == {"tcpSocket"}


# --- finding 2: one user class per target, the one the local benchmark uses --------------------


@pytest.mark.parametrize(
    ("variables", "user"),
    [({}, parse_args([]).user), ({"LOCUST_TARGET": "tfserving"}, "TFServingUser")],
)
def test_in_cluster_runs_use_the_local_user_class(
    render_loadtest: Callable[..., Objects], variables: dict[str, str], user: str
) -> None:
    objects = render_loadtest(**variables)
    for component in ("master", "worker"):
        env = env_of(objects, component)
        assert env["LOCUST_USER_CLASSES"] == user  # Locust's own variable: exactly these classes
        assert env["LOAD_TARGET"] == target_of_user(user)  # as bench run sets it locally


@pytest.mark.locust
def test_the_rendered_environment_runs_get_requests_only(
    render_loadtest: Callable[..., Objects], start_server: Callable[..., ServerProcess]
) -> None:
    """Run Locust with the master's rendered environment: one request type, as `make bench`."""
    env = env_of(render_loadtest(), "master")
    chosen = {k: v for k, v in env.items() if k in ("LOAD_TARGET", "LOCUST_USER_CLASSES")}
    server = start_server()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("LOCUST_", "LOAD_", "STEP_"))}
    result = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(ROOT / "locust" / "main.py"), "--headless",
         "--host", server.base, "-u", "4", "-r", "4", "-t", "2s", "--json", "--only-summary"],
        env={**clean, **chosen}, cwd=ROOT, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    stats = json.loads(result.stdout)
    assert {row["name"] for row in stats} == {"GET /convert"}, stats
    assert sum(row["num_requests"] for row in stats) > 0


# --- finding 3: the headless master waits for every worker, or fails loudly ---------------------


@pytest.mark.parametrize("run", sorted(RUNS))
def test_master_expects_every_worker(render_loadtest: Callable[..., Objects], run: str) -> None:
    objects = render_loadtest(**RUNS[run])
    env = env_of(objects, "master")
    replicas = deployment(objects, "worker")["spec"]["replicas"]
    assert int(env["LOCUST_EXPECT_WORKERS"]) == replicas
    assert int(env["LOCUST_EXPECT_WORKERS_MAX_WAIT"]) > 0
    if RUNS[run].get("LOCUST_WORKERS"):
        assert replicas == int(RUNS[run]["LOCUST_WORKERS"])


@pytest.mark.locust
def test_a_master_without_its_workers_gives_up_loudly(
    render_loadtest: Callable[..., Objects],
) -> None:
    env = env_of(render_loadtest(), "master")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("LOCUST_", "LOAD_", "STEP_"))}
    rendered = {k: v for k, v in env.items() if k.startswith(("LOAD_", "STEP_", "LOCUST_"))}
    rendered |= {
        "LOCUST_HOST": "http://127.0.0.1:9",
        "LOCUST_LOCUSTFILE": str(ROOT / "locust" / "main.py"),
        "LOCUST_EXPECT_WORKERS_MAX_WAIT": "2",  # instead of minutes
    }
    result = subprocess.run(
        [sys.executable, "-m", "locust", "--master", "--headless", "--master-bind-host",
         "127.0.0.1", "--master-bind-port", str(free_port())],
        env={**clean, **rendered}, cwd=ROOT, capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "Gave up waiting for workers to connect" in result.stderr


# --- finding 4: the host follows the namespace and release; the chart version is pinned ---------


@pytest.mark.parametrize(
    ("variables", "release", "namespace"),
    [
        ({}, "celsiusify", "default"),
        ({"LOCUST_NAMESPACE": "load"}, "celsiusify", "load"),
        ({"LOCUST_TARGET": "tfserving", "LOCUST_NAMESPACE": "ns"}, "celsiusify-tfserving", "ns"),
        ({"TARGET_RELEASE": "perf", "TARGET_NAMESPACE": "apps"}, "perf", "apps"),
    ],
)  # fmt: skip
def test_host_is_the_target_service(
    render_loadtest: Callable[..., Objects],
    render: Callable[..., Objects],
    variables: dict[str, str],
    release: str,
    namespace: str,
) -> None:
    service = one(render(release=release, namespace=namespace), "Service")
    name, port = service["metadata"]["name"], service["spec"]["ports"][0]["port"]
    objects = render_loadtest(**variables)
    for component in ("master", "worker"):
        host = env_of(objects, component)["LOCUST_HOST"]
        assert host == f"http://{name}.{namespace}.svc.cluster.local:{port}"


def test_the_chart_version_is_pinned(helm: str, render_loadtest: Callable[..., Objects]) -> None:
    dry_run = make("-n", "loadtest-up", f"HELM={helm}")
    assert dry_run.returncode == 0, dry_run.stderr
    (command,) = [line for line in dry_run.stdout.splitlines() if " upgrade -i " in line]
    words = shlex.split(command)
    assert words[words.index("upgrade") + 3] == "deliveryhero/locust"
    version = words[words.index("--version") + 1]
    assert version == "0.35.0"
    assert LOCUST_CHART.name == f"locust-{version}.tgz"
    labels = deployment(render_loadtest(), "master")["metadata"]["labels"]
    assert labels["helm.sh/chart"] == f"locust-{version}"


def test_the_docs_install_deliveryhero_locust_only_pinned() -> None:
    text = docs_text(*LOADTEST_DOCS).replace("\\\n", " ")
    for line in text.splitlines():
        if "deliveryhero/locust" in line and "helm upgrade" in line:
            assert "--version 0.35.0" in line, line


# --- modes, volumes, ConfigMaps -----------------------------------------------------------------


def test_ui_mode_is_what_the_makefile_sets(render_loadtest: Callable[..., Objects]) -> None:
    headless = container_of(render_loadtest(), "master")
    ui = container_of(render_loadtest(LOCUST_MODE="ui"), "master")
    assert "--headless" in headless["args"]
    assert "--headless" not in ui["args"]
    assert env_of(render_loadtest(LOCUST_MODE="ui"), "master")["STEP_THEN_IDLE"] == "0"
    assert env_of(render_loadtest(), "master")["STEP_THEN_IDLE"] == "1"


def test_bad_make_variables_are_refused(helm: str) -> None:
    for assignment in ("LOCUST_MODE=gui", "LOCUST_TARGET=fastapi"):
        result = make("-s", "loadtest-template", f"HELM={helm}", assignment)
        assert result.returncode != 0
        assert assignment.split("=")[0] in result.stderr


def test_csv_goes_to_the_emptydir(render_loadtest: Callable[..., Objects]) -> None:
    objects = render_loadtest()
    master = container_of(objects, "master")
    (csv_arg,) = [arg for arg in master["args"] if arg.startswith("--csv=")]
    mounts = {m["mountPath"]: m["name"] for m in master["volumeMounts"]}
    directory = str(Path(csv_arg.removeprefix("--csv=")).parent)
    volumes = {
        v["name"]: v for v in deployment(objects, "master")["spec"]["template"]["spec"]["volumes"]
    }
    assert "emptyDir" in volumes[mounts[directory]]


@pytest.fixture(scope="module")
def configmaps() -> list[dict[str, Any]]:
    result = make("loadtest-configmaps-yaml", "LOCUST_NAMESPACE=load")
    if result.returncode != 0 and "kubectl" in result.stderr:
        pytest.skip(f"kubectl not available: {result.stderr.strip()[:200]}")
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def test_configmaps_hold_what_the_pods_mount(
    configmaps: list[dict[str, Any]], render_loadtest: Callable[..., Objects]
) -> None:
    by_name = {doc["metadata"]["name"]: doc for doc in configmaps}
    assert {doc["metadata"]["namespace"] for doc in configmaps} == {"load"}
    spec = deployment(render_loadtest(LOCUST_NAMESPACE="load"), "worker")["spec"]["template"]
    mounted = {v["configMap"]["name"] for v in spec["spec"]["volumes"] if "configMap" in v}
    assert {"celsiusify-locustfile", "celsiusify-locust-lib"} <= mounted
    assert (
        by_name["celsiusify-locustfile"]["data"]["main.py"]
        == (ROOT / "locust" / "main.py").read_text()
    )
    expected = {path.name for path in (ROOT / "locust" / "lib").glob("*.py")}
    manifests = {path.name: path.read_text() for path in (ROOT / "targets").glob("*.json")}
    assert set(by_name["celsiusify-locust-lib"]["data"]) == expected | set(manifests)
    # lib/targets.py reads the target manifests beside itself in the pods.
    for name, text in manifests.items():
        assert by_name["celsiusify-locust-lib"]["data"][name] == text
    for doc in configmaps:
        kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)
    assert violations(configmaps) == []


def test_image_matches_the_pinned_locust() -> None:
    pins = (ROOT / "requirements-dev.txt").read_text()
    assert f"locust=={VALUES['image']['tag']}" in pins


def test_environment_values_are_strings() -> None:
    env = VALUES["loadtest"]["environment"] | VALUES["master"]["environment"]
    assert all(isinstance(value, str) for value in env.values())
