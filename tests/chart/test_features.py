"""Issue 14's features, each rendered with and without its switch: every object validates strictly
(Kubernetes 1.30 and the newest schemas; ServiceMonitor and PrometheusRule against the Prometheus
Operator's CRD schemas vendored in tests/schemas) and passes the API server's rules (k8s_rules)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.helpers.helm import CHART, DIGEST, MONITORING_FORCED, Objects, run_helm
from tests.helpers.objects import (
    NEWEST_KUBERNETES,
    OLDEST_KUBERNETES,
    by_kind,
    one,
    validate_object,
)
from tests.k8s_rules import violations

pytestmark = pytest.mark.helm

# feature: (values files, --set pairs that switch it on, kinds it adds)
FEATURES: dict[str, tuple[tuple[str, ...], tuple[str, ...], set[str]]] = {
    "network-policy": (
        ("celsiusify-chart/examples/network-policy.yaml",), (), {"NetworkPolicy"},
    ),
    "network-policy-with-ingress": (
        ("celsiusify-chart/examples/ingress-3-replicas.yaml",
         "celsiusify-chart/examples/network-policy.yaml"), (), {"NetworkPolicy"},
    ),
    "network-policy-tfserving": (
        ("tfserving/values.yaml", "celsiusify-chart/examples/network-policy.yaml"), (),
        {"NetworkPolicy"},
    ),
    "monitoring": ((), MONITORING_FORCED, {"ServiceMonitor", "PrometheusRule"}),
    "monitoring-hpa-off": (
        ("celsiusify-chart/ci/hpa-off-values.yaml",), MONITORING_FORCED,
        {"ServiceMonitor", "PrometheusRule"},
    ),
    "dashboard": ((), ("dashboard.enabled=true",), {"ConfigMap"}),
    "digest": ((), (f"image.digest={DIGEST}",), set()),
    "digest-tfserving": (("tfserving/values.yaml",), (f"image.digest={DIGEST}",), set()),
}  # fmt: skip


@pytest.mark.parametrize("version", [OLDEST_KUBERNETES, NEWEST_KUBERNETES])
@pytest.mark.parametrize("switch", ["off", "on"])
@pytest.mark.parametrize("feature", sorted(FEATURES))
def test_feature_validates_and_passes_the_rules(
    render: Callable[..., Objects], feature: str, switch: str, version: str
) -> None:
    files, sets, kinds = FEATURES[feature]
    if switch == "off":
        files = tuple(f for f in files if "network-policy" not in f)
        sets = ()
    objects = render(*files, sets=sets)
    for obj in objects:
        validate_object(obj, version)
    rendered = {obj["kind"] for obj in objects}
    if switch == "on":
        assert kinds <= rendered
    else:
        assert not kinds & rendered
    drain = 1 if "tfserving" in feature else 7
    assert violations(objects, drain_seconds=drain) == []


def test_every_object_names_its_namespace(render: Callable[..., Objects]) -> None:
    objects = render(sets=(*MONITORING_FORCED, "dashboard.enabled=true"), namespace="load")
    objects += render("celsiusify-chart/examples/network-policy.yaml", namespace="load")
    assert {obj["metadata"].get("namespace") for obj in objects} == {"load"}


# --- image.digest ---------------------------------------------------------------------------------


def test_digest_references_the_image_by_content(render: Callable[..., Objects]) -> None:
    objects = render(sets=(f"image.digest={DIGEST}", "image.tag=9.9.9"))
    (main,) = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert main["image"] == f"ghcr.io/celsiusify/celsiusify@{DIGEST}"
    assert one(objects, "Pod")["spec"]["containers"][0]["image"] == main["image"]
    (main,) = one(render(), "Deployment")["spec"]["template"]["spec"]["containers"]
    assert main["image"] == "ghcr.io/celsiusify/celsiusify:1.0.0"


def test_tfserving_digest(render: Callable[..., Objects]) -> None:
    objects = render("tfserving/values.yaml", sets=(f"image.digest={DIGEST}",))
    (main,) = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert main["image"] == f"ghcr.io/celsiusify/celsiusify-tfserving@{DIGEST}"
    (main,) = one(render("tfserving/values.yaml"), "Deployment")["spec"]["template"]["spec"][
        "containers"
    ]
    assert main["image"] == "ghcr.io/celsiusify/celsiusify-tfserving:1.0.0"


@pytest.mark.parametrize(
    "digest",
    ["0123", "sha256:abc", "sha256:" + "A" * 64, "sha512:" + "a" * 64, "@sha256:" + "a" * 64],
)
@pytest.mark.parametrize("values", [(), ("-f", "tfserving/values.yaml")])
def test_malformed_digests_are_refused(helm: str, digest: str, values: tuple[str, ...]) -> None:
    result = run_helm(
        helm, "template", "demo", str(CHART), *values, "--set", f"image.digest={digest}"
    )
    assert result.returncode != 0
    assert "digest" in result.stderr, result.stderr


# --- helm test pod --------------------------------------------------------------------------------


def test_helm_test_pod_has_requests_and_limits(render: Callable[..., Objects]) -> None:
    for objects in (render(), render("tfserving/values.yaml")):
        resources = one(objects, "Pod")["spec"]["containers"][0]["resources"]
        assert set(resources["requests"]) == {"cpu", "memory"}
        assert set(resources["limits"]) == {"cpu", "memory"}


def test_switches_are_off_by_default(render: Callable[..., Objects]) -> None:
    objects = render()
    for kind in ("NetworkPolicy", "ServiceMonitor", "PrometheusRule", "ConfigMap"):
        assert not by_kind(objects, kind), kind
