"""What the Kubernetes API server and controllers refuse, or get wrong, that JSON schemas pass.

`violations(objects)` takes every object a `helm template` rendered and returns one line per broken
rule, naming the object and the rule; an empty list means nothing here would be refused. The
schemas (kubernetes-validate) only check shapes; these rules come from the API server's validation
(k8s.io/kubernetes pkg/apis/core/validation, apps/validation, autoscaling/validation) and from what
the controllers do with valid objects (a ReplicaSet adopts any bare Pod its selector matches; an HPA
with a CPU Utilization metric cannot compute one while a container has no CPU request).

Shared by tests/chart and tests/locust; each rule has a fixture that breaks it in
tests/test_k8s_rules.py, because a checker that cannot fail is not a check. Quantities (250m,
128Mi) are read by bench's parser, bench.measure.hpa.parse_quantity: the one the benchmark reads
the HPA's and the chart's CPU with.

`network_policy_allows(policies, source, target, port)` answers what a CNI that enforces
NetworkPolicy does with one connection (the semantics of networking.k8s.io/v1: a pod selected by a
policy of a direction is isolated in that direction, and then only what some rule of those
policies allows gets through, on both the sender's egress and the receiver's ingress side).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.measure.hpa import parse_quantity

Obj = Mapping[str, Any]

# k8s.io/apimachinery/pkg/util/validation
_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_DNS1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_IANA_SVC_NAME = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?")

PROBE_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")
LIFECYCLE_HANDLERS = ("exec", "httpGet", "tcpSocket", "sleep")
WORKLOAD_KINDS = ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job")
DEFAULT_TERMINATION_GRACE_SECONDS = 30


def is_dns1123_label(name: str) -> bool:
    return len(name) <= 63 and _DNS1123_LABEL.fullmatch(name) is not None


def is_dns1123_subdomain(name: str) -> bool:
    return len(name) <= 253 and _DNS1123_SUBDOMAIN.fullmatch(name) is not None


def is_dns1035_label(name: str) -> bool:
    return len(name) <= 63 and _DNS1035_LABEL.fullmatch(name) is not None


def is_port_name(name: str) -> bool:
    """IANA service name, as container ports and named targetPorts must be (RFC 6335)."""
    return (
        len(name) <= 15
        and _IANA_SVC_NAME.fullmatch(name) is not None
        and "--" not in name
        and any(char.isalpha() for char in name)
    )


def label_key_problem(key: str) -> str | None:
    prefix, slash, name = key.rpartition("/")
    if slash and not (prefix and is_dns1123_subdomain(prefix)):
        return f"label key {key!r}: prefix must be a DNS-1123 subdomain"
    if not (len(name) <= 63 and _QUALIFIED_NAME.fullmatch(name)):
        return f"label key {key!r}: name must be at most 63 alphanumerics, '-', '_' or '.'"
    return None


def label_value_problem(value: object) -> str | None:
    if not isinstance(value, str):
        return f"label value {value!r} is not a string"
    if len(value) > 63 or not _LABEL_VALUE.fullmatch(value):
        return (
            f"label value {value!r}: at most 63 of alphanumerics, '-', '_', '.' (ends alphanumeric)"
        )
    return None


def _ref(obj: Obj) -> str:
    return f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"


def pod_template(obj: Obj) -> tuple[Mapping[str, str], Obj] | None:
    """(pod labels, pod spec) of a Pod or of a workload's pod template; None for other kinds."""
    kind, spec = obj.get("kind"), obj.get("spec") or {}
    if kind == "Pod":
        return obj.get("metadata", {}).get("labels") or {}, spec
    if kind == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
        kind = "Job"
    if kind in WORKLOAD_KINDS:
        template = spec.get("template") or {}
        return (template.get("metadata") or {}).get("labels") or {}, template.get("spec") or {}
    return None


def _containers(pod: Obj) -> Iterator[Obj]:
    yield from pod.get("initContainers") or []
    yield from pod.get("containers") or []


def selector_matches(selector: Obj | None, labels: Mapping[str, str]) -> bool:
    """A LabelSelector (matchLabels + matchExpressions) or a Service's plain map, against labels."""
    if not selector:
        return False
    if "matchLabels" not in selector and "matchExpressions" not in selector:
        selector = {"matchLabels": selector}  # a Service selector is a plain map
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values")
        present = key in labels
        if (
            (operator == "In" and labels.get(key) not in (values or []))
            or (operator == "NotIn" and present and labels[key] in (values or []))
            or (operator == "Exists" and not present)
            or (operator == "DoesNotExist" and present)
        ):
            return False
    return True


def _check_names(obj: Obj) -> Iterator[str]:
    name = obj.get("metadata", {}).get("name", "")
    if obj.get("kind") == "Service":
        if not is_dns1035_label(name):
            yield (
                f"{_ref(obj)}: Service name must be a DNS-1035 label (a letter first, then "
                "lowercase letters, digits, '-'; at most 63)"
            )
    elif not is_dns1123_subdomain(name):
        yield f"{_ref(obj)}: name must be a DNS-1123 subdomain (lowercase, digits, '-', '.')"


def _label_maps(obj: Obj) -> Iterator[tuple[str, Mapping[str, Any]]]:
    yield "metadata.labels", obj.get("metadata", {}).get("labels") or {}
    spec = obj.get("spec") or {}
    template = pod_template(obj)
    if template is not None and obj.get("kind") != "Pod":
        yield "pod template labels", template[0]
    selector = spec.get("selector")
    if isinstance(selector, Mapping):
        plain = "matchLabels" not in selector and "matchExpressions" not in selector
        yield "selector", selector if plain else selector.get("matchLabels") or {}


def _check_labels(obj: Obj) -> Iterator[str]:
    for where, labels in _label_maps(obj):
        for key, value in labels.items():
            for problem in (label_key_problem(str(key)), label_value_problem(value)):
                if problem:
                    yield f"{_ref(obj)}: {where}: {problem}"


def _handler_count(where: str, handler: Obj, allowed: tuple[str, ...]) -> Iterator[str]:
    present = [key for key in allowed if handler.get(key) is not None]
    if len(present) != 1:
        yield (
            f"{where} has {len(present)} handlers ({', '.join(present) or 'none'}); "
            "the API server allows exactly one"
        )


def _port_refers(where: str, port: object, container: Obj) -> Iterator[str]:
    ports = container.get("ports") or []
    if isinstance(port, str):
        if not is_port_name(port):
            yield f"{where}: port name {port!r} is not an IANA service name"
        elif port not in {p.get("name") for p in ports}:
            yield f"{where}: port {port!r} names no port of container {container.get('name')}"
    elif port not in {p.get("containerPort") for p in ports}:
        yield f"{where}: port {port} is not a containerPort of container {container.get('name')}"


def _check_probes(where: str, container: Obj) -> Iterator[str]:
    for probe_name in ("livenessProbe", "readinessProbe", "startupProbe"):
        probe = container.get(probe_name)
        if probe is None:
            continue
        yield from _handler_count(f"{where} {probe_name}", probe, PROBE_HANDLERS)
        for handler in ("httpGet", "tcpSocket", "grpc"):
            if probe.get(handler) is not None:
                port = probe[handler].get("port")
                yield from _port_refers(f"{where} {probe_name}", port, container)


def _check_lifecycle(where: str, pod: Obj, container: Obj, drain_seconds: int) -> Iterator[str]:
    grace = pod.get("terminationGracePeriodSeconds", DEFAULT_TERMINATION_GRACE_SECONDS)
    for hook_name, hook in (container.get("lifecycle") or {}).items():
        yield from _handler_count(f"{where} lifecycle.{hook_name}", hook, LIFECYCLE_HANDLERS)
        sleep = hook.get("sleep")
        if sleep is None:
            continue
        seconds = sleep.get("seconds", 0)
        if seconds <= 0:
            yield (
                f"{where} lifecycle.{hook_name}: sleep of {seconds}s is refused before "
                "Kubernetes 1.33 (PodLifecycleSleepActionAllowZero); omit the hook instead"
            )
        if hook_name == "preStop" and seconds + drain_seconds > grace:
            yield (
                f"{where}: preStop sleep {seconds}s + drain {drain_seconds}s exceeds "
                f"terminationGracePeriodSeconds {grace}s: the process is killed mid-drain"
            )


def _check_resources(where: str, container: Obj) -> Iterator[str]:
    resources = container.get("resources") or {}
    requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
    for resource in sorted(set(requests) & set(limits)):
        if parse_quantity(requests[resource]) > parse_quantity(limits[resource]):
            yield (
                f"{where}: {resource} request {requests[resource]} exceeds its limit "
                f"{limits[resource]}"
            )


def _check_env_and_mounts(where: str, pod: Obj, container: Obj) -> Iterator[str]:
    for variable in container.get("env") or []:
        if "value" in variable and not isinstance(variable["value"], str):
            yield f"{where}: env {variable.get('name')} value {variable['value']!r} is not a string"
        if variable.get("value") and "valueFrom" in variable:
            yield f"{where}: env {variable.get('name')} has both value and valueFrom"
    volumes = {volume.get("name") for volume in pod.get("volumes") or []}
    for mount in container.get("volumeMounts") or []:
        if mount.get("name") not in volumes:
            yield f"{where}: volumeMount {mount.get('name')!r} names no volume of the pod"


def _check_container(ref: str, pod: Obj, container: Obj, drain_seconds: int) -> Iterator[str]:
    name = container.get("name", "")
    where = f"{ref}: container {name}"
    if not is_dns1123_label(name):
        yield f"{where}: container name must be a DNS-1123 label"
    for port in container.get("ports") or []:
        if "name" in port and not is_port_name(str(port["name"])):
            yield (
                f"{where}: port name {port['name']!r} must be an IANA service name "
                "(at most 15 of a-z, 0-9, '-', a letter, no '--' and no '-' at either end)"
            )
    yield from _check_probes(where, container)
    yield from _check_lifecycle(where, pod, container, drain_seconds)
    yield from _check_resources(where, container)
    yield from _check_env_and_mounts(where, pod, container)


def _check_pod(obj: Obj, drain_seconds: int) -> Iterator[str]:
    template = pod_template(obj)
    if template is None:
        return
    _, pod = template
    for container in _containers(pod):
        yield from _check_container(_ref(obj), pod, container, drain_seconds)
    if obj.get("kind") in WORKLOAD_KINDS:
        selector = (obj.get("spec") or {}).get("selector")
        if not selector_matches(selector, template[0]):
            yield f"{_ref(obj)}: selector {selector} does not match its pod template's labels"


def _selected_pods(objects: Sequence[Obj], obj: Obj, selector: Obj | None) -> Iterator[str]:
    """Problems with what a Service's or PDB's selector picks among the rendered objects."""
    namespace = obj.get("metadata", {}).get("namespace")
    matched = 0
    for other in objects:
        template = pod_template(other)
        if template is None or other.get("metadata", {}).get("namespace") != namespace:
            continue
        if selector_matches(selector, template[0]):
            if other.get("kind") == "Pod":
                yield (
                    f"{_ref(obj)}: selector also matches the bare {_ref(other)} (a helm hook?); "
                    "give it labels of its own"
                )
            else:
                matched += 1
    if matched == 0:
        yield f"{_ref(obj)}: selector {selector} matches no pod template rendered with it"


def _check_workload_adoption(objects: Sequence[Obj], obj: Obj) -> Iterator[str]:
    """A ReplicaSet adopts every ownerless Pod its selector matches: a helm test pod, say."""
    if obj.get("kind") not in ("Deployment", "ReplicaSet", "StatefulSet"):
        return
    selector = (obj.get("spec") or {}).get("selector")
    for other in objects:
        if other.get("kind") == "Pod" and selector_matches(
            selector, other.get("metadata", {}).get("labels") or {}
        ):
            yield f"{_ref(obj)}: selector matches the bare {_ref(other)}, which it would adopt"


def _check_service(objects: Sequence[Obj], service: Obj) -> Iterator[str]:
    spec = service.get("spec") or {}
    ports = spec.get("ports") or []
    for port in ports:
        name = port.get("name")
        if name is not None and not is_dns1123_label(str(name)):
            yield f"{_ref(service)}: port name {name!r} must be a DNS-1123 label"
        if name is None and len(ports) > 1:
            yield f"{_ref(service)}: every port must be named when there are several"
    selector = spec.get("selector")
    if not selector:
        return
    yield from _selected_pods(objects, service, selector)
    for other in objects:
        template = pod_template(other)
        if other.get("kind") == "Pod" or template is None:
            continue
        if not selector_matches(selector, template[0]):
            continue
        containers = list(_containers(template[1]))
        for port in ports:
            target = port.get("targetPort", port.get("port"))
            names = {p.get("name") for c in containers for p in c.get("ports") or []}
            numbers = {p.get("containerPort") for c in containers for p in c.get("ports") or []}
            if isinstance(target, str) and not is_port_name(target):
                yield f"{_ref(service)}: targetPort {target!r} is not an IANA service name"
            elif target not in (names if isinstance(target, str) else numbers):
                yield (
                    f"{_ref(service)}: targetPort {target!r} names no container port of "
                    f"{_ref(other)}"
                )


def _check_hpa(objects: Sequence[Obj], hpa: Obj) -> Iterator[str]:
    spec = hpa.get("spec") or {}
    ref = spec.get("scaleTargetRef") or {}
    if spec.get("minReplicas", 1) > spec.get("maxReplicas", 0):
        yield f"{_ref(hpa)}: minReplicas exceeds maxReplicas"
    targets = [
        obj
        for obj in objects
        if obj.get("kind") == ref.get("kind")
        and obj.get("apiVersion") == ref.get("apiVersion")
        and obj.get("metadata", {}).get("name") == ref.get("name")
    ]
    if not targets:
        yield f"{_ref(hpa)}: scaleTargetRef {ref} names no rendered object"
        return
    template = pod_template(targets[0])
    if template is None:
        return
    containers = list(template[1].get("containers") or [])
    for metric in spec.get("metrics") or []:
        if metric.get("type") == "Resource":
            source, names = metric.get("resource") or {}, [c.get("name") for c in containers]
        elif metric.get("type") == "ContainerResource":
            source = metric.get("containerResource") or {}
            names = [source.get("container")]
        else:
            continue
        if (source.get("target") or {}).get("type") != "Utilization":
            continue
        resource = source.get("name")
        for container in containers:
            if container.get("name") not in names:
                continue
            requests = (container.get("resources") or {}).get("requests") or {}
            if resource not in requests:
                yield (
                    f"{_ref(hpa)}: container {container.get('name')} of {_ref(targets[0])} has no "
                    f"{resource} request, so {resource} utilisation cannot be computed"
                )


def label_selector_matches(selector: Obj | None, labels: Mapping[str, str]) -> bool:
    """A LabelSelector where empty ({}) selects everything, as in NetworkPolicy and PDBs."""
    if selector is None:
        return False
    if not selector.get("matchLabels") and not selector.get("matchExpressions"):
        return True
    return selector_matches(selector, labels)


def _container_port_names(pod: Obj) -> set[str]:
    return {str(p["name"]) for c in _containers(pod) for p in c.get("ports") or [] if "name" in p}


def _check_network_policy(objects: Sequence[Obj], policy: Obj) -> Iterator[str]:
    """A policy that selects no rendered pod protects nothing (a typo in its selector); a named
    port that a selected pod does not declare opens nothing on that pod."""
    spec = policy.get("spec") or {}
    namespace = policy.get("metadata", {}).get("namespace")
    selected = []
    for other in objects:
        template = pod_template(other)
        if template is None or other.get("metadata", {}).get("namespace") != namespace:
            continue
        if label_selector_matches(spec.get("podSelector"), template[0]):
            selected.append((other, template[1]))
    if not selected:
        yield f"{_ref(policy)}: podSelector {spec.get('podSelector')} selects no rendered pod"
    for rule in spec.get("ingress") or []:
        for port in rule.get("ports") or []:
            name = port.get("port")
            if not isinstance(name, str):
                continue
            if not is_port_name(name):
                yield f"{_ref(policy)}: port {name!r} is not an IANA service name"
                continue
            for other, pod in selected:
                if name not in _container_port_names(pod):
                    yield (
                        f"{_ref(policy)}: ingress port {name!r} names no container port of "
                        f"{_ref(other)}, so nothing is admitted on it"
                    )


@dataclass(frozen=True)
class PodEndpoint:
    """One pod as NetworkPolicy sees it: its namespace (and that namespace's labels; the API
    server always sets kubernetes.io/metadata.name), its labels and its named container ports."""

    namespace: str
    labels: Mapping[str, str]
    ports: Mapping[str, int] = field(default_factory=dict)
    namespace_labels: Mapping[str, str] | None = None

    def namespace_label_set(self) -> Mapping[str, str]:
        base = {"kubernetes.io/metadata.name": self.namespace}
        return {**base, **(self.namespace_labels or {})}


def _policy_types(spec: Obj) -> list[str]:
    """policyTypes as the API server defaults them: Ingress always, Egress if rules exist."""
    if spec.get("policyTypes"):
        return list(spec["policyTypes"])
    return ["Ingress", *(["Egress"] if spec.get("egress") else [])]


def _peer_matches(peer: Obj, policy_namespace: str, other: PodEndpoint) -> bool:
    if "ipBlock" in peer:
        return False  # CIDRs are for traffic from outside the cluster, not pods
    namespace_selector, pod_selector = peer.get("namespaceSelector"), peer.get("podSelector")
    if namespace_selector is None:
        namespace_ok = other.namespace == policy_namespace
    else:
        namespace_ok = label_selector_matches(namespace_selector, other.namespace_label_set())
    pod_ok = pod_selector is None or label_selector_matches(pod_selector, other.labels)
    return namespace_ok and pod_ok


def _port_matches(rule_port: Obj, port: int, protocol: str, receiver: PodEndpoint) -> bool:
    if rule_port.get("protocol", "TCP") != protocol:
        return False
    wanted = rule_port.get("port")
    if wanted is None:
        return True
    if isinstance(wanted, str):  # named ports are the receiving pod's container port names
        return receiver.ports.get(wanted) == port
    return int(wanted) <= port <= int(rule_port.get("endPort", wanted))


def _side_allows(
    policies: Sequence[Obj], direction: str, pod: PodEndpoint, other: PodEndpoint,
    port: int, protocol: str, receiver: PodEndpoint,
) -> bool:  # fmt: skip
    rules_key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    isolated = False
    for policy in policies:
        meta, spec = policy.get("metadata") or {}, policy.get("spec") or {}
        if policy.get("kind") != "NetworkPolicy" or meta.get("namespace") != pod.namespace:
            continue
        if direction not in _policy_types(spec):
            continue
        if not label_selector_matches(spec.get("podSelector"), pod.labels):
            continue
        isolated = True
        for rule in spec.get(rules_key) or []:
            peers, ports = rule.get(peers_key), rule.get("ports")
            if peers and not any(_peer_matches(p, pod.namespace, other) for p in peers):
                continue
            if ports and not any(_port_matches(p, port, protocol, receiver) for p in ports):
                continue
            return True
    return not isolated


def network_policy_allows(
    policies: Sequence[Obj], source: PodEndpoint, target: PodEndpoint, port: int,
    protocol: str = "TCP",
) -> bool:  # fmt: skip
    """Whether a connection from source to target's port passes both sides' NetworkPolicies."""
    egress = _side_allows(policies, "Egress", source, target, port, protocol, target)
    ingress = _side_allows(policies, "Ingress", target, source, port, protocol, target)
    return egress and ingress


def violations(objects: Sequence[Obj], *, drain_seconds: int = 0) -> list[str]:
    """Every broken rule in these rendered objects, one line each; [] when none.

    drain_seconds: how long the main process needs after SIGTERM; a preStop sleep plus
    this must fit in terminationGracePeriodSeconds.
    """
    found: list[str] = []
    for obj in objects:
        found += _check_names(obj)
        found += _check_labels(obj)
        found += _check_pod(obj, drain_seconds)
        found += _check_workload_adoption(objects, obj)
        kind = obj.get("kind")
        if kind == "Service":
            found += _check_service(objects, obj)
        elif kind == "PodDisruptionBudget":
            found += _selected_pods(objects, obj, (obj.get("spec") or {}).get("selector"))
        elif kind == "HorizontalPodAutoscaler":
            found += _check_hpa(objects, obj)
        elif kind == "NetworkPolicy":
            found += _check_network_policy(objects, obj)
    return found
