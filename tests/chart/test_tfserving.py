"""The TF Serving release: its image's entrypoint gets SIGTERM to the server, and the flags the
chart renders size its thread pools for the pod's CPU limit (issue 9, findings 6 and 7)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from tests.helpers.helm import ROOT, Objects
from tests.helpers.objects import one
from tests.k8s_rules import parse_quantity

DOCKERFILE = ROOT / "tfserving" / "Dockerfile"
BATCHING = ROOT / "tfserving" / "config" / "batching.config"
VALUES = yaml.safe_load((ROOT / "tfserving" / "values.yaml").read_text())


def instruction(name: str) -> list[str]:
    """The last exec-form (JSON) ENTRYPOINT or CMD of the TF Serving Dockerfile."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    lines = [line for line in text.splitlines() if line.startswith(f"{name} ")]
    assert lines, f"no {name} in {DOCKERFILE}"
    value = json.loads(lines[-1].removeprefix(f"{name} "))  # not JSON → shell form → fails here
    assert isinstance(value, list)
    return [str(item) for item in value]


def flag_values(args: list[str]) -> dict[str, str]:
    return dict(arg.removeprefix("--").split("=", 1) for arg in args if arg.startswith("--"))


def test_entrypoint_forwards_sigterm_to_the_model_server() -> None:
    entrypoint = instruction("ENTRYPOINT")
    # tini is PID 1 and forwards SIGTERM; the server (no handler of its own) is PID 2, so the
    # default action ends it. Not the base image's bash script, not the server as PID 1.
    assert entrypoint[:3] == ["/usr/bin/tini", "--", "/usr/bin/tensorflow_model_server"]
    assert "tf_serving_entrypoint" not in DOCKERFILE.read_text().split("ENTRYPOINT", 1)[1]
    assert flag_values(entrypoint[3:]) == {
        "model_name": "celsiusify",
        "model_base_path": "/models/celsiusify",
    }
    assert re.search(r"apt-get install [^\n]*tini=[0-9]", DOCKERFILE.read_text())


@pytest.fixture(scope="module")
def tfserving_container(render: Callable[..., Objects]) -> dict[str, Any]:
    deployment = one(render("tfserving/values.yaml"), "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return dict(container)


def test_the_chart_keeps_the_entrypoint_and_spells_out_the_image_flags(
    tfserving_container: dict[str, Any],
) -> None:
    assert "command" not in tfserving_container  # the image's ENTRYPOINT (tini) stays
    rendered = flag_values(tfserving_container["args"])
    image = flag_values(instruction("CMD"))
    assert rendered["rest_api_port"] == str(tfserving_container["ports"][0]["containerPort"])
    assert rendered == image | {"rest_api_port": rendered["rest_api_port"]}


def test_thread_pools_fit_the_cpu_limit(tfserving_container: dict[str, Any]) -> None:
    cpus = math.ceil(parse_quantity(tfserving_container["resources"]["limits"]["cpu"]))
    flags = flag_values(tfserving_container["args"])
    assert 1 <= int(flags["rest_api_num_threads"]) <= 4 * cpus
    assert 1 <= int(flags["tensorflow_intra_op_parallelism"]) <= cpus
    assert 1 <= int(flags["tensorflow_inter_op_parallelism"]) <= cpus
    assert flags["batching_parameters_file"] == "/etc/tfserving/batching.config"
    match = re.search(r"num_batch_threads \{ value: (\d+) \}", BATCHING.read_text())
    assert match
    assert 1 <= int(match.group(1)) <= cpus


def test_shutdown_values_match_a_server_that_stops_at_once() -> None:
    shutdown = VALUES["shutdown"]
    # No drain in the process: the preStop sleep is all of it, and the grace period is the sleep
    # plus the exit and a little room (it used to be spent waiting for SIGKILL).
    assert shutdown["processDrainSeconds"] <= 1
    assert shutdown["preStopSleepSeconds"] >= 5
    budget = shutdown["preStopSleepSeconds"] + shutdown["processDrainSeconds"]
    assert budget <= shutdown["terminationGracePeriodSeconds"] <= budget + 5
    text = (ROOT / "tfserving" / "values.yaml").read_text()
    assert "no SIGTERM handler" in text
    assert "exit 143" in text


def test_the_pods_run_as_the_images_user_under_pod_security_restricted(
    render: Callable[..., Objects],
) -> None:
    """make e2e's namespace enforces Pod Security "restricted": the TF Serving pods (and their
    stand-in's) must run as the images' non-root user with nothing privileged."""
    pod = one(render("tfserving/values.yaml"), "Deployment")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    users = {
        re.findall(r"^USER (\d+):(\d+)$", path.read_text(), re.M)[-1]
        for path in (DOCKERFILE, ROOT / "tests" / "standins" / "Dockerfile.tfserving")
    }
    assert users == {(str(pod["securityContext"]["runAsUser"]),
                      str(pod["securityContext"]["runAsGroup"]))}  # fmt: skip
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert VALUES["podSecurityContext"]["runAsUser"] == 10001  # spelled out, not the chart's
