"""The local cluster itself: the pinned release, its own runtime, and nothing routed outside."""

from __future__ import annotations

import json
import socket
import struct
import subprocess

import pytest

from tests.helpers.cluster import Run, cluster_var

pytestmark = pytest.mark.cluster


def test_node_ready_on_the_pinned_release_and_runtime(kube: Run) -> None:
    node = json.loads(kube("get", "node", cluster_var("NODE_NAME"), "-o", "json").stdout)
    info = node["status"]["nodeInfo"]
    assert info["kubeletVersion"] == cluster_var("K8S_VERSION")
    assert (
        info["containerRuntimeVersion"] == "containerd://" + cluster_var("CONTAINERD_VERSION")[1:]
    )
    ready = [c for c in node["status"]["conditions"] if c["type"] == "Ready"]
    assert ready[0]["status"] == "True", ready
    server = json.loads(kube("version", "-o", "json").stdout)["serverVersion"]["gitVersion"]
    assert server == cluster_var("K8S_VERSION")


def test_service_ips_route_to_the_cluster_bridge(kubectl: str) -> None:
    """An unprogrammed ClusterIP must not fall through to the default gateway."""
    route = subprocess.run(
        ["ip", "route", "get", "10.96.254.254"], capture_output=True, text=True, check=True
    ).stdout
    assert f"dev {cluster_var('BRIDGE')}" in route, route


def test_pods_cannot_reach_past_the_bridge(kubectl: str) -> None:
    rules = subprocess.run(
        ["iptables", "-S", "FORWARD"], capture_output=True, text=True, check=True
    ).stdout
    assert cluster_var("EGRESS_COMMENT") in rules, rules


def test_no_name_outside_cluster_local_resolves(kubectl: str) -> None:
    """CoreDNS has no forwarder: a public name gets an error, and no query leaves the machine."""
    query = struct.pack(">HHHHHH", 7, 0x0100, 1, 0, 0, 0) + b"\x07example\x03com\x00"
    query += struct.pack(">HH", 1, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(3)
        sock.sendto(query, (cluster_var("DNS_SVC_IP"), 53))
        answer = sock.recv(512)
    assert struct.unpack(">H", answer[6:8])[0] == 0, "example.com got an answer"
