"""Every install of celsiusify-chart the docs describe, rendered and checked by the API server's
rules (tests/k8s_rules.py), plus the faults that only show in rendered objects."""

from __future__ import annotations

import itertools
import re
import shlex
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml

from tests.helpers.docs import DOCS, docs_text
from tests.helpers.helm import CHART, ROOT, Objects, run_helm
from tests.helpers.objects import app_flags, by_kind, drain_seconds, one
from tests.k8s_rules import violations

pytestmark = pytest.mark.helm

# The pages that tell users to install the chart: deploy.md, and benchmark.md for TF Serving.
INSTALL_DOCS = ("deploy.md", "benchmark.md")


def docs_commands(prefix: str) -> Iterator[list[str]]:
    """Commands of INSTALL_DOCS' bash blocks that start with prefix (continuation lines joined)."""
    for block in re.findall(r"```bash\n(.*?)```", docs_text(*INSTALL_DOCS), re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            for command in line.split(" #", 1)[0].split("&&"):
                if command.strip().startswith(prefix):
                    yield shlex.split(command)


def docs_chart_installs() -> dict[str, list[str]]:
    """`helm upgrade -i RELEASE ./celsiusify-chart …` from the docs, as `helm template` args."""
    installs = {}
    for number, command in enumerate(docs_commands("helm upgrade -i")):
        if "./celsiusify-chart" in command:
            installs[f"docs-{number}-{command[3]}"] = ["template", *command[3:]]
    return installs


def values_files(folder: str) -> dict[str, list[str]]:
    return {
        f"{folder}/{path.name}": ["template", "celsiusify", str(CHART), "-f", str(path)]
        for path in sorted((CHART / folder).glob("*.yaml"))
    }


# Everything a user is told to install: the docs' commands, the chart's ci/ and examples/
# files, the TF Serving values, fixed replicas, another namespace, release names at the edges.
INSTALLS: dict[str, list[str]] = {
    "defaults": ["template", "celsiusify", str(CHART)],
    **docs_chart_installs(),
    **values_files("ci"),
    **values_files("examples"),
    "tfserving": ["template", "celsiusify-tfserving", str(CHART), "-f", "tfserving/values.yaml"],
    "hpa-off-3-replicas": [
        "template", "celsiusify", str(CHART),
        "--set", "autoscaling.enabled=false", "--set", "replicaCount=3",
    ],
    "namespace-load": ["template", "celsiusify", str(CHART), "--namespace", "load"],
    "tfserving-namespace-load": [
        "template", "tfs", str(CHART), "-f", "tfserving/values.yaml", "--namespace", "load",
    ],
    "release-one-letter": ["template", "a", str(CHART)],
    "release-53-characters": ["template", "r" * 53, str(CHART)],
    "release-53-characters-with-chart-name": ["template", "celsiusify-" + "x" * 42, str(CHART)],
    "release-with-digits": ["template", "app-2", str(CHART)],
    "pre-stop-sleep-off": ["template", "celsiusify", str(CHART),
                           "--set", "shutdown.preStopSleepSeconds=0"],
    "tmp-volume": ["template", "celsiusify", str(CHART), "--set", "tmpVolume.enabled=true"],
    # Issue 14: NetworkPolicy with the Ingress example, monitoring objects, digest, in a namespace.
    "ingress-with-network-policy": [
        "template", "celsiusify", str(CHART),
        "-f", str(CHART / "examples" / "ingress-3-replicas.yaml"),
        "-f", str(CHART / "examples" / "network-policy.yaml"),
    ],
    "tfserving-network-policy-digest": [
        "template", "celsiusify-tfserving", str(CHART), "-f", "tfserving/values.yaml",
        "-f", str(CHART / "examples" / "network-policy.yaml"),
        "--set", "image.digest=sha256:" + "ab" * 32, "--namespace", "load",
    ],
    "monitoring-served": [
        "template", "celsiusify", str(CHART), "--api-versions", "monitoring.coreos.com/v1",
        "--set", "metrics.serviceMonitor.enabled=true",
        "--set", "metrics.prometheusRule.enabled=true",
        "--set", "dashboard.enabled=true", "--namespace", "load",
    ],
}  # fmt: skip


def effective_values(args: list[str]) -> dict[str, Any]:
    """The chart's values merged with the -f files of args (enough for the shutdown figures of
    a server other than the app, whose drain is read from its rendered flags instead)."""

    def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
        for key, value in override.items():
            if isinstance(value, dict) and isinstance(base.get(key), dict):
                merge(base[key], value)
            else:
                base[key] = value
        return base

    values: dict[str, Any] = yaml.safe_load((CHART / "values.yaml").read_text())
    for flag, path in itertools.pairwise(args):
        if flag == "-f":
            merge(values, yaml.safe_load((ROOT / path).read_text()) or {})
    return values


@pytest.fixture(scope="module")
def rendered(helm: str) -> Callable[[str], Objects]:
    cache: dict[str, Objects] = {}

    def _rendered(name: str) -> Objects:
        if name not in cache:
            result = run_helm(helm, *INSTALLS[name])
            assert result.returncode == 0, result.stderr
            cache[name] = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
        return cache[name]

    return _rendered


def test_the_docs_installs_are_found() -> None:
    releases = {args[1] for name, args in INSTALLS.items() if name.startswith("docs-")}
    assert {"celsiusify", "celsiusify-tfserving"} <= releases
    assert {"ci/hpa-off-values.yaml", "examples/ingress-3-replicas.yaml"} <= set(INSTALLS)


@pytest.mark.parametrize("name", sorted(INSTALLS))
def test_every_install_passes_the_api_server_rules(
    rendered: Callable[[str], Objects], name: str
) -> None:
    objects = rendered(name)
    drain = drain_seconds(main_container(objects), effective_values(INSTALLS[name]))
    assert violations(objects, drain_seconds=drain) == []
    assert {"Deployment", "Service", "Pod"} <= {obj["kind"] for obj in objects}


def main_container(objects: Objects) -> dict[str, Any]:
    (main,) = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"]
    return main


# --- finding 8: release names Helm accepts but a Service name cannot have ---------------------


@pytest.mark.parametrize("release", ["2fa", "celsiusify.v2", "v2.celsiusify"])
def test_release_names_that_make_no_valid_service_name_are_refused(helm: str, release: str) -> None:
    result = run_helm(helm, "template", release, str(CHART))
    assert result.returncode != 0, "rendered a Service name the API server refuses"
    assert "DNS-1035" in result.stderr, result.stderr
    assert "fullnameOverride" in result.stderr


def test_fullname_override_rescues_such_a_release(render: Callable[..., Objects]) -> None:
    objects = render(release="2fa", sets=("fullnameOverride=twofa",))
    assert one(objects, "Service")["metadata"]["name"] == "twofa"
    assert violations(objects, drain_seconds=7) == []


# --- finding 9: a zero preStop sleep is refused before Kubernetes 1.33 --------------------------


def test_zero_pre_stop_sleep_omits_the_hook(render: Callable[..., Objects]) -> None:
    main = main_container(render(sets=("shutdown.preStopSleepSeconds=0",)))
    assert "lifecycle" not in main
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["kubeVersion"] == ">=1.30.0-0"  # sleep 0 needs 1.33: the hook must go instead


def test_negative_pre_stop_sleep_is_refused(helm: str) -> None:
    result = run_helm(
        helm, "template", "demo", str(CHART), "--set", "shutdown.preStopSleepSeconds=-1"
    )
    assert result.returncode != 0
    assert "preStopSleepSeconds" in result.stderr


# --- finding 10: the helm test pod -------------------------------------------------------------

PLACEMENT = (
    "imagePullSecrets[0].name=regcred",
    "nodeSelector.pool=bench",
    "tolerations[0].key=dedicated",
    "tolerations[0].operator=Exists",
    "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
    ".nodeSelectorTerms[0].matchExpressions[0].key=pool",
    "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
    ".nodeSelectorTerms[0].matchExpressions[0].operator=Exists",
)


def test_test_pod_gets_the_pod_placement_values(render: Callable[..., Objects]) -> None:
    objects = render(sets=PLACEMENT)
    deployment_pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    test_pod = one(objects, "Pod")["spec"]
    for key in ("imagePullSecrets", "nodeSelector", "tolerations", "affinity"):
        assert test_pod[key] == deployment_pod[key], key
    assert violations(objects, drain_seconds=7) == []


def test_test_pod_is_not_selected_by_the_release(render: Callable[..., Objects]) -> None:
    objects = render()
    labels = one(objects, "Pod")["metadata"]["labels"]
    for selector in (
        one(objects, "Deployment")["spec"]["selector"]["matchLabels"],
        one(objects, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"],
        one(objects, "Service")["spec"]["selector"],
    ):
        assert not selector.items() <= labels.items()
    assert labels["app.kubernetes.io/instance"] == "demo"  # still the release's


# --- finding 11: one value for the container port and the server's port ------------------------


def test_container_port_moves_the_app_server_too(render: Callable[..., Objects]) -> None:
    main = main_container(render(sets=("containerPort=9090",)))
    assert main["ports"][0]["containerPort"] == 9090
    flags = app_flags(main)
    assert flags is not None
    assert flags.port == 9090
    assert main["livenessProbe"]["httpGet"]["port"] == "http"


def test_container_port_moves_tfserving_too(render: Callable[..., Objects]) -> None:
    main = main_container(render("tfserving/values.yaml", sets=("containerPort=9501",)))
    assert main["ports"][0]["containerPort"] == 9501
    assert "--rest_api_port=9501" in main["args"]
    assert not [arg for arg in main["args"] if arg.startswith("--rest_api_port=8501")]


# --- finding 12: TF Serving must not inherit the app's environment ------------------------------


def test_tfserving_has_none_of_the_apps_environment(render: Callable[..., Objects]) -> None:
    env = main_container(render("tfserving/values.yaml")).get("env", [])
    assert not [var["name"] for var in env if var["name"].startswith("CELSIUSIFY_")]
    assert {"name": "TF_CPP_MIN_LOG_LEVEL", "value": "1"} in env


# --- finding 13: NOTES ----------------------------------------------------------------------------


def notes(helm: str, *args: str) -> str:
    result = run_helm(
        helm, "install", "demo", str(CHART), "--dry-run=client", "--namespace", "bench", *args
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split("NOTES:", 1)[1]


def test_notes_spread_load_from_inside_the_cluster(helm: str) -> None:
    text = notes(helm)
    loop = next(line for line in text.splitlines() if "kubectl run" in line)
    assert "--rm" in loop
    assert "--restart=Never" in loop
    follow = text[text.index(loop) :]
    assert "http://demo-celsiusify.bench.svc:80/convert?fahrenheit=212" in follow
    assert "uniq -c" in follow
    # port-forward pins one pod: it must not be offered for watching the spread.
    spread = text[text.index("spread") :]
    assert "127.0.0.1" not in spread.split("In-cluster URL", 1)[0]


def test_notes_for_the_ingress_example_create_tls_and_send_credentials(helm: str) -> None:
    text = notes(helm, "-f", str(CHART / "examples" / "ingress-3-replicas.yaml"))
    assert "kubectl create secret tls celsiusify-tls --namespace bench" in text
    lines = text.splitlines()
    (ingress_curl,) = [line for line in lines if "https://celsiusify.example.test" in line]
    assert " -u " in ingress_curl
    assert "celsiusify-basic-auth" in text


def test_ingress_example_documents_its_tls_secret() -> None:
    example = (CHART / "examples" / "ingress-3-replicas.yaml").read_text()
    assert "kubectl create secret tls celsiusify-tls" in example
    assert "kubectl create secret tls celsiusify-tls" in docs_text("deploy.md")


def test_tmp_volume_mount_has_its_volume(render: Callable[..., Objects]) -> None:
    objects = render(sets=("tmpVolume.enabled=true",))
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    assert [v["name"] for v in pod["volumes"]] == ["tmp"]
    assert not by_kind(objects, "Ingress")


def test_docs_helpers_see_real_commands() -> None:
    assert all((DOCS / name).exists() for name in INSTALL_DOCS)
    assert list(docs_commands("helm test"))
