"""The loader interface: how a run's images reach the cluster's nodes (kind, minikube, a
registry, the local test cluster) and what else that choice decides: the binaries it needs,
the kubeconfig the run starts from, metrics-server's flags, the Locust image."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from e2e.commands import Cmd, Tools

if TYPE_CHECKING:
    from e2e.context import Context
    from targets import Target


class Loader(ABC):
    """One way images reach the nodes; the defaults suit a cluster that pulls what it lacks."""

    # The --loader word, and e2e.json's "loader".
    name: ClassVar[str]
    # Binaries it calls besides docker, kubectl, helm and make, each with how to install it.
    binaries: ClassVar[Mapping[str, str]] = {}

    @property
    def registry(self) -> str:
        """The repository prefix of the run's images ("" keeps the bare image names)."""
        return ""

    def located(self) -> Loader:
        """The loader with whatever it must find on this machine found (before the run)."""
        return self

    def tools(self, tools: Tools) -> Tools:
        """The run's binaries, with any this cluster brings of its own."""
        return tools

    def kubeconfig(self) -> str:
        """The kubeconfig the run starts from."""
        return os.environ.get("KUBECONFIG") or str(Path.home() / ".kube" / "config")

    def check(self, ctx: Context) -> None:
        """What the cluster needs beyond the tools (ctx.unavailable names what is missing)."""
        del ctx

    @abstractmethod
    def load(self, ref: str, tools: Tools) -> Cmd:
        """The command that makes a built image available to the nodes."""

    def unload(self, ref: str) -> list[Cmd]:
        """What removes the image from the nodes again (before `docker image rm`)."""
        del ref
        return []

    def metrics_server_args(self) -> list[str]:
        """Extra flags of metrics-server's install."""
        return []

    def absent_bases(self, ctx: Context, target: Target) -> list[str]:
        """Base images a build of the target would have to pull and cannot (none: it pulls)."""
        del ctx, target
        return []

    def locust_image(self, ctx: Context) -> None:
        """How the Locust image locust/values.yaml names reaches the nodes."""
        del ctx
        print("  the Locust image (locust/values.yaml) is pulled by the nodes")


# kind and minikube kubelets serve self-signed certificates.
INSECURE_KUBELET_TLS = ("--set", "args={--kubelet-insecure-tls}")
