"""Pods that send and answer TCP connections on the local cluster, for the NetworkPolicy tests,
and the state of the agent that enforces the policies there (kube-network-policies, started by
scripts/cluster/up.sh's start_network_policies).

Every pod runs the API image (it has python) and passes Pod Security "restricted": non-root,
no privilege escalation, every capability dropped, the runtime's default seccomp profile.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from tests.helpers.cluster import CHART_IMAGE, POD_SECURITY_LABELS, Run, cluster_var

# Prints how a TCP connection to argv[1]:argv[2] went: "answered" (an HTTP status line came
# back), "timeout" (no answer in argv[3] seconds: a dropped SYN), "refused" (a reset), or
# "error <errno>".
CONNECT = """\
import socket, sys
host, port, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket()
s.settimeout(timeout)
try:
    s.connect((host, port))
    s.sendall(b"GET /healthz HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n")
    print("answered" if s.recv(12).startswith(b"HTTP/1.") else "no status line")
except socket.timeout:
    print("timeout")
except ConnectionRefusedError:
    print("refused")
except OSError as e:
    print("error", e.errno)
"""
# Resolves argv[1] through the pod's resolver; prints the first address or the error.
RESOLVE = """\
import socket, sys
try:
    print(socket.getaddrinfo(sys.argv[1], 443, socket.AF_INET)[0][4][0])
except OSError as e:
    print("error", e)
"""
APP_PORT = 8080


def pod(name: str, labels: dict[str, str], *, serve: bool) -> dict[str, object]:
    """A pod of the API image: serving the app on APP_PORT, or idle (a client to exec in)."""
    container: dict[str, object] = {
        "name": "main",
        "image": CHART_IMAGE,
        "imagePullPolicy": "Never",
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        },
        "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}},
    }
    if serve:
        container["readinessProbe"] = {
            "httpGet": {"path": "/readyz", "port": APP_PORT},
            "periodSeconds": 1,
        }
    else:
        container["command"] = ["sleep", "600"]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "terminationGracePeriodSeconds": 0,
            "automountServiceAccountToken": False,
            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [container],
        },
    }


def create_namespace(kube: Run, name: str) -> None:
    """A fresh namespace with the tests' Pod Security labels (an old one is deleted first)."""
    kube("delete", "namespace", name, "--ignore-not-found", "--wait=true", timeout=180)
    created = kube("create", "namespace", name)
    assert created.returncode == 0, created.stderr
    labelled = kube("label", "namespace", name, *POD_SECURITY_LABELS)
    assert labelled.returncode == 0, labelled.stderr


def start_pods(kube: Run, namespace: str, pods: list[dict[str, object]]) -> None:
    """Create the pods and wait until every one is Ready."""
    manifest = json.dumps({"apiVersion": "v1", "kind": "List", "items": pods})
    applied = kube("apply", "--namespace", namespace, "-f", "-", stdin=manifest)
    assert applied.returncode == 0, applied.stderr
    names = [f"pod/{p['metadata']['name']}" for p in pods]  # type: ignore[index]
    ready = kube(
        "wait", "--namespace", namespace, "--for=condition=Ready", "--timeout=120s", *names
    )
    if ready.returncode != 0:
        described = kube("describe", "--namespace", namespace, *names).stdout
        raise AssertionError(f"pods not Ready: {ready.stderr}\n{described[-3000:]}")


def pod_ip(kube: Run, namespace: str, name: str) -> str:
    out = kube("get", "pod", name, "--namespace", namespace, "-o", "jsonpath={.status.podIP}")
    assert out.returncode == 0, out.stderr
    assert out.stdout, f"{namespace}/{name} has no IP"
    return out.stdout.strip()


def connect(
    kube: Run, namespace: str, pod_name: str, host: str, port: int, timeout: float = 2.0
) -> str:
    """How a new TCP connection from the pod went (see CONNECT)."""
    out = kube(
        "exec", "--namespace", namespace, pod_name, "--",
        "python", "-c", CONNECT, host, str(port), str(timeout),
        timeout=timeout + 30,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def connect_until(
    kube: Run, namespace: str, pod_name: str, host: str, port: int, want: str, seconds: float
) -> str:
    """Connect again until the outcome is `want` or `seconds` pass; the last outcome. The agent
    applies a new policy, or a new pod's address, a moment after the API server has it."""
    deadline = time.monotonic() + seconds
    while True:
        outcome = connect(kube, namespace, pod_name, host, port)
        if outcome == want or time.monotonic() > deadline:
            return outcome
        time.sleep(0.5)


def resolve(kube: Run, namespace: str, pod_name: str, name: str) -> str:
    out = kube("exec", "--namespace", namespace, pod_name, "--", "python", "-c", RESOLVE, name)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def agent_state() -> str:
    """Why NetworkPolicies may not be enforced: kube-network-policies' process, the NFQUEUE it
    reads, and the iptables chain that feeds that queue (up.sh's start_network_policies)."""
    pid_file = Path(cluster_var("RUN_DIR")) / "pids" / "kube-network-policies"
    log = Path(cluster_var("STATE_DIR")) / "logs" / "kube-network-policies.log"
    queue, chain = cluster_var("NETWORK_POLICIES_QUEUE"), cluster_var("NETWORK_POLICIES_CHAIN")
    if not pid_file.exists():
        return (
            f"kube-network-policies is not running (no {pid_file}): "
            "scripts/cluster/up.sh --only start_network_policies"
        )
    pid = int(pid_file.read_text())
    try:
        os.kill(pid, 0)
    except OSError:
        return f"kube-network-policies (pid {pid}) has exited: see {log}"
    queues = Path("/proc/net/netfilter/nfnetlink_queue").read_text().split("\n")
    if not any(line.split()[:1] == [queue] for line in queues):
        return f"kube-network-policies (pid {pid}) does not read NFQUEUE {queue}: see {log}"
    iptables = shutil.which("iptables") or "iptables"
    jump = subprocess.run(
        [iptables, "-t", "mangle", "-C", "POSTROUTING", "-j", chain],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if jump.returncode != 0:
        return f"no jump from mangle POSTROUTING to {chain}: nothing is queued for the agent"
    return f"kube-network-policies runs (pid {pid}), reads NFQUEUE {queue}, {chain} feeds it: {log}"
