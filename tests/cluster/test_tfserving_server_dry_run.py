"""The TF Serving release against the real API server, as far as it can go here.

No TF Serving binary or image can be pulled or built on these machines, so its pods could never
start: its objects (with tfserving/values.yaml, as docs/benchmark.md installs it) are sent with
`kubectl apply --dry-run=server`, which runs the API server's validation and admission (defaults,
field checks, the HPA and PDB rules) without creating anything. That is where this test stops.
"""

from __future__ import annotations

import pytest

from tests.helpers.cluster import Run
from tests.helpers.helm import CHART, ROOT

pytestmark = pytest.mark.cluster

RELEASE = "celsiusify-tfserving"


def test_tfserving_objects_pass_server_side_dry_run(helm: Run, kube: Run, namespace: str) -> None:
    rendered = helm(
        "template", RELEASE, str(CHART), "--namespace", namespace,
        "-f", str(ROOT / "tfserving" / "values.yaml"),
    )  # fmt: skip
    assert rendered.returncode == 0, rendered.stderr
    applied = kube(
        "apply", "--dry-run=server", "--namespace", namespace, "-f", "-", stdin=rendered.stdout
    )
    assert applied.returncode == 0, applied.stderr
    kinds = {
        line.split("/")[0] for line in applied.stdout.splitlines() if "(server dry run)" in line
    }
    assert {"deployment.apps", "service", "horizontalpodautoscaler.autoscaling"} <= kinds, (
        applied.stdout
    )
    # Nothing was created.
    listed = kube("get", "deployment", RELEASE, "--namespace", namespace, "--ignore-not-found")
    assert listed.stdout.strip() == ""
    print(applied.stdout)
    print("TF Serving stops at --dry-run=server: no TF Serving image can be pulled or built here")


def test_a_bad_object_is_refused_by_the_server_dry_run(kube: Run, namespace: str) -> None:
    """The same path refuses what the API server refuses: a container port name over 15
    characters (Service port names may be longer; container port names may not)."""
    pod = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: bad-port-name}\nspec:\n  containers:\n"
        "    - name: app\n      image: ghcr.io/celsiusify/celsiusify:1.0.0\n"
        "      ports: [{name: a-port-name-longer-than-15, containerPort: 8080}]\n"
    )
    applied = kube("apply", "--dry-run=server", "--namespace", namespace, "-f", "-", stdin=pod)
    assert applied.returncode != 0
    assert "must be no more than 15 characters" in applied.stderr, applied.stderr
