"""minikube: images through `minikube image load` into a profile, removed again afterwards."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from e2e.commands import Cmd, Tools, cmd
from e2e.loaders.base import INSECURE_KUBELET_TLS, Loader

BINARY = "minikube"


@dataclass(frozen=True)
class MinikubeLoader(Loader):
    """A minikube profile's node (its context has the profile's name)."""

    name = "minikube"
    binaries: ClassVar[Mapping[str, str]] = {
        BINARY: "install minikube (https://minikube.sigs.k8s.io/docs/start/) "
        "or choose another --loader"
    }
    profile: str = "minikube"

    def load(self, ref: str, tools: Tools) -> Cmd:
        """minikube image load into the profile."""
        del tools
        return cmd(BINARY, "image", "load", ref, "-p", self.profile)

    def unload(self, ref: str) -> list[Cmd]:
        """minikube image rm from the profile."""
        return [cmd(BINARY, "image", "rm", ref, "-p", self.profile)]

    def metrics_server_args(self) -> list[str]:
        """minikube's kubelet serves a self-signed certificate."""
        return list(INSECURE_KUBELET_TLS)
