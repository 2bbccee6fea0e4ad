"""Pod Security admission, "restricted", enforced by the local cluster's API server.

Every namespace the cluster tests install into carries the restricted labels (enforce, audit,
warn: tests/helpers/cluster.py), so the Celsiusify release, its `helm test` pod and the
deliveryhero Locust pods that the other tests run there were admitted under them. Here: the
labels really enforce (a pod asking for root is refused, with the message users see), and the
objects of every release (Celsiusify, TF Serving, Locust with locust/values.yaml) raise no
Pod Security warning — while the Locust chart's own defaults do, so the check can fail.
"""

from __future__ import annotations

import pytest

from tests.helpers.cluster import POD_SECURITY_LABELS, Run
from tests.helpers.helm import CHART, LOCUST_CHART, ROOT

pytestmark = pytest.mark.cluster

ROOT_POD = """\
apiVersion: v1
kind: Pod
metadata: {name: asks-for-root}
spec:
  securityContext: {runAsUser: 0}
  containers:
    - name: app
      image: ghcr.io/celsiusify/celsiusify:1.0.0
"""
# What `kubectl apply` prints for it (the API server's PodSecurity plugin, Kubernetes 1.37).
REFUSED = 'is forbidden: violates PodSecurity "restricted:latest"'
WARNED = 'would violate PodSecurity "restricted:latest"'


def server_dry_run(kube: Run, namespace: str, manifest: str) -> str:
    """kubectl apply --dry-run=server; everything it printed (warnings go to stderr)."""
    applied = kube("apply", "--dry-run=server", "--namespace", namespace, "-f", "-",
                   stdin=manifest)  # fmt: skip
    assert applied.returncode == 0, applied.stderr
    return applied.stdout + applied.stderr


def test_the_test_namespace_enforces_restricted(kube: Run, namespace: str) -> None:
    labels = kube("get", "namespace", namespace, "-o", "jsonpath={.metadata.labels}")
    for label in POD_SECURITY_LABELS:
        key, value = label.split("=")
        assert f'"{key}":"{value}"' in labels.stdout, labels.stdout


def test_a_pod_asking_for_root_is_refused_with_the_message_users_see(
    kube: Run, namespace: str
) -> None:
    applied = kube("apply", "--namespace", namespace, "-f", "-", stdin=ROOT_POD)
    assert applied.returncode != 0, applied.stdout
    assert REFUSED in applied.stderr, applied.stderr
    for field in ("runAsNonRoot != true", "runAsUser=0", "allowPrivilegeEscalation != false",
                  "unrestricted capabilities", "seccompProfile"):  # fmt: skip
        assert field in applied.stderr, applied.stderr
    print(applied.stderr)
    assert kube("get", "pod", "asks-for-root", "-n", namespace, "--ignore-not-found").stdout == ""


@pytest.mark.parametrize(
    ("release", "values"),
    [("celsiusify", []), ("celsiusify-tfserving", ["-f", str(ROOT / "tfserving" / "values.yaml")])],
)
def test_every_release_and_its_test_pod_pass_restricted_without_a_warning(
    helm: Run, kube: Run, namespace: str, release: str, values: list[str]
) -> None:
    rendered = helm("template", release, str(CHART), "--namespace", namespace, *values)
    assert rendered.returncode == 0, rendered.stderr
    assert "kind: Pod\n" in rendered.stdout  # the helm test hook is among them
    printed = server_dry_run(kube, namespace, rendered.stdout)
    assert "PodSecurity" not in printed, printed


def test_the_chart_asking_for_root_is_warned_and_its_pods_would_be_refused(
    helm: Run, kube: Run, namespace: str
) -> None:
    rendered = helm("template", "celsiusify", str(CHART), "--namespace", namespace,
                    "--set", "podSecurityContext.runAsUser=0",
                    "--set", "podSecurityContext.runAsNonRoot=false")  # fmt: skip
    assert rendered.returncode == 0, rendered.stderr
    applied = kube("apply", "--dry-run=server", "--namespace", namespace, "-f", "-",
                   stdin=rendered.stdout)  # fmt: skip
    # The Deployment is warned; the helm test pod, a bare Pod, is refused outright.
    assert WARNED in applied.stderr, applied.stderr
    assert REFUSED in applied.stderr, applied.stderr


def locust_render(helm: Run, namespace: str, values: bool) -> str:
    files = ["-f", str(ROOT / "locust" / "values.yaml")] if values else []
    rendered = helm("template", "locust", str(LOCUST_CHART), "--namespace", namespace, *files,
                    "--set", "loadtest.locust_host=http://celsiusify")  # fmt: skip
    assert rendered.returncode == 0, rendered.stderr
    return rendered.stdout


def test_the_locust_pods_pass_restricted_with_our_values_and_not_without(
    helm: Run, kube: Run, namespace: str
) -> None:
    ours = server_dry_run(kube, namespace, locust_render(helm, namespace, values=True))
    assert "PodSecurity" not in ours, ours
    defaults = server_dry_run(kube, namespace, locust_render(helm, namespace, values=False))
    assert WARNED in defaults, defaults
