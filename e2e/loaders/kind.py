"""kind: images through `kind load docker-image`; also the opt-in cluster of --kind-create,
made from e2e/values/kind-config.yaml and deleted by the clean-up."""

from __future__ import annotations

from dataclasses import dataclass

from e2e.commands import Cmd, Tools, cmd
from e2e.loaders.base import INSECURE_KUBELET_TLS, Loader

KIND_CONFIG = "e2e/values/kind-config.yaml"
BINARY = "kind"
BINARIES = {
    BINARY: "install kind (https://kind.sigs.k8s.io/docs/user/quick-start/#installation) "
    "or choose another --loader"
}


def create_cluster(name: str) -> Cmd:
    """The opt-in kind cluster, from the committed config."""
    return cmd(
        BINARY, "create", "cluster", "--name", name, "--config", KIND_CONFIG, "--wait", "180s"
    )


def delete_cluster(name: str) -> Cmd:
    """Delete the kind cluster the run created."""
    return cmd(BINARY, "delete", "cluster", "--name", name)


@dataclass(frozen=True)
class KindLoader(Loader):
    """A kind cluster's nodes, by its name (context kind-<name>)."""

    name = "kind"
    binaries = BINARIES
    cluster: str = "celsiusify-e2e"

    def load(self, ref: str, tools: Tools) -> Cmd:
        """kind load docker-image into the cluster's nodes."""
        del tools
        return cmd(BINARY, "load", "docker-image", ref, "--name", self.cluster)

    def metrics_server_args(self) -> list[str]:
        """kind's kubelets serve self-signed certificates."""
        return list(INSECURE_KUBELET_TLS)
