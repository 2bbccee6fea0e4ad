"""In-cluster wiring for the deliveryhero/locust chart, checked as far as no cluster allows:
the values, the ConfigMaps `make` builds, and that the host is our chart's Service."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.chart.conftest import Objects, one

ROOT = Path(__file__).resolve().parents[2]
VALUES = yaml.safe_load((ROOT / "locust" / "values.yaml").read_text())


@pytest.fixture(scope="module")
def configmaps() -> list[dict[str, Any]]:
    result = subprocess.run(
        ["make", "--no-print-directory", "loadtest-configmaps-yaml"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if result.returncode != 0 and "kubectl" in result.stderr:
        pytest.skip(f"kubectl not available: {result.stderr.strip()[:200]}")
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def test_configmaps_hold_the_locustfile_and_lib(configmaps: list[dict[str, Any]]) -> None:
    by_name = {doc["metadata"]["name"]: doc for doc in configmaps}
    loadtest = VALUES["loadtest"]
    locustfile = by_name[loadtest["locust_locustfile_configmap"]]
    lib = by_name[loadtest["locust_lib_configmap"]]
    assert set(locustfile["data"]) == {loadtest["locust_locustfile"]}
    assert locustfile["data"]["main.py"] == (ROOT / "locust" / "main.py").read_text()
    expected = {path.name for path in (ROOT / "locust" / "lib").glob("*.py")}
    assert set(lib["data"]) == expected
    for doc in configmaps:
        kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)


@pytest.mark.helm
def test_host_is_the_celsiusify_service(render: Callable[..., Objects]) -> None:
    service = one(render(release="celsiusify"), "Service")
    name, port = service["metadata"]["name"], service["spec"]["ports"][0]["port"]
    assert VALUES["loadtest"]["locust_host"] == f"http://{name}.default.svc.cluster.local:{port}"


def test_headless_master_is_probed_on_the_worker_port() -> None:
    master = VALUES["master"]
    assert VALUES["loadtest"]["headless"] is True
    assert master["readinessProbe"]["tcpSocket"]["port"] == 5557
    assert "httpGet" not in master["readinessProbe"]
    assert master["livenessProbe"]["tcpSocket"]["port"] == 5557


def test_csv_goes_to_the_emptydir() -> None:
    master = VALUES["master"]
    (csv_arg,) = [arg for arg in master["args"] if arg.startswith("--csv=")]
    (mount,) = master["extraVolumeMounts"]
    assert csv_arg.removeprefix("--csv=").startswith(mount["mountPath"] + "/")
    (volume,) = master["extraVolumes"]
    assert volume["name"] == mount["name"]
    assert "emptyDir" in volume


def test_image_matches_the_pinned_locust() -> None:
    pins = (ROOT / "requirements-dev.txt").read_text()
    assert f"locust=={VALUES['image']['tag']}" in pins


def test_environment_selects_users_and_shape() -> None:
    env = VALUES["loadtest"]["environment"]
    assert env["LOAD_TARGET"] == "celsiusify"
    assert env["LOAD_SHAPE"] == "step"
    assert int(env["STEP_MAX_USERS"]) >= int(env["STEP_START_USERS"])
    assert all(isinstance(value, str) for value in env.values())  # env values must be strings
