"""The local test cluster (make cluster-up): images imported into its containerd with its own
ctr, its own kubeconfig and kubectl, no registry within reach (air-gapped by design), and the
Locust image built and imported by its fixture script. Everything e2e knows about it is here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from e2e.commands import Cmd, Tools, cmd
from e2e.errors import StepFailed
from e2e.loaders.base import Loader
from e2e.shell import Shell
from targets import ROOT

if TYPE_CHECKING:
    from e2e.context import Context
    from targets import Target

KUBECONFIG = "/var/lib/celsiusify-cluster/admin.kubeconfig"
# Builds the Locust image locust/values.yaml names and imports it into the cluster's containerd.
LOCUST_IMAGE_SCRIPT = "scripts/images/locust.sh"


def cluster_var(name: str) -> str:
    """A variable of scripts/cluster/versions.sh and env.sh (paths follow the pinned set)."""
    script = f"source scripts/cluster/versions.sh; source scripts/cluster/env.sh; echo ${name}"
    result = Shell().run(cmd("bash", "-c", script), quiet=True, local=True)
    return result.stdout.strip()


def containerd_name(ref: str) -> str:
    """The name containerd (and the kubelet) give an image reference: Docker Hub's defaults."""
    first = ref.split("/", 1)[0]
    if "/" in ref and ("." in first or ":" in first or first == "localhost"):
        return ref
    return f"docker.io/{ref}" if "/" in ref else f"docker.io/library/{ref}"


def base_images(dockerfile: str) -> list[str]:
    """The images a Dockerfile's FROM lines pull (ARG defaults substituted; stages and
    `scratch` left out), in order, once each."""
    args: dict[str, str] = {}
    stages: set[str] = set()
    bases: list[str] = []
    for line in dockerfile.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0].upper() == "ARG" and "=" in words[1]:
            name, _, value = words[1].partition("=")
            args.setdefault(name, value.strip("\"'"))
        elif len(words) >= 2 and words[0].upper() == "FROM":
            image = next(w for w in words[1:] if not w.startswith("--"))
            for name, value in args.items():
                image = image.replace(f"${{{name}}}", value).replace(f"${name}", value)
            if image != "scratch" and image not in stages and image not in bases:
                bases.append(image)
            if len(words) >= 4 and words[-2].upper() == "AS":
                stages.add(words[-1])
    return bases


@dataclass(frozen=True)
class LocalClusterLoader(Loader):
    """The project's single-node test cluster, its binaries found through
    scripts/cluster/versions.sh and env.sh (located())."""

    name = "local-cluster"
    ctr: str = "ctr"
    containerd_socket: str = ""
    # The cluster's own bin folder (its kubectl is the API server's release).
    k8s_bin: str = ""

    def located(self) -> LocalClusterLoader:
        """Its ctr, containerd socket and kubectl folder, from the pinned variables."""
        k8s_bin = cluster_var("K8S_BIN")
        return replace(
            self,
            k8s_bin=k8s_bin,
            ctr=str(Path(cluster_var("CONTAINERD_BIN")) / "ctr"),
            containerd_socket=cluster_var("CONTAINERD_SOCK"),
        )

    def tools(self, tools: Tools) -> Tools:
        """Its own kubectl, unless $KUBECTL names one."""
        kubectl = Path(self.k8s_bin) / "kubectl"
        if kubectl.is_file() and "KUBECTL" not in os.environ:
            return replace(tools, kubectl=str(kubectl))
        return tools

    def kubeconfig(self) -> str:
        """Its own admin kubeconfig, never $KUBECONFIG's (which may name a real cluster)."""
        return os.environ.get("CELSIUSIFY_CLUSTER_KUBECONFIG", KUBECONFIG)

    def check(self, ctx: Context) -> None:
        """Its containerd answers."""
        if not Path(self.containerd_socket).exists():
            ctx.unavailable(
                f"no local cluster: no containerd socket {self.containerd_socket} "
                "(run make cluster-up)"
            )

    def _ctr(self) -> tuple[str, ...]:
        return (self.ctr, "--address", self.containerd_socket, "-n", "k8s.io")

    def load(self, ref: str, tools: Tools) -> Cmd:
        """docker save | ctr images import, into the kubelet's namespace k8s.io."""
        return Cmd(
            (*self._ctr(), "images", "import", "-"), stdin_from=cmd(tools.docker, "save", ref)
        )

    def unload(self, ref: str) -> list[Cmd]:
        """ctr images rm, by the name containerd gave the image."""
        return [cmd(*self._ctr(), "images", "rm", containerd_name(ref))]

    def containerd_images(self) -> Cmd:
        """The images in the cluster's containerd (namespace k8s.io, the kubelet's)."""
        return cmd(*self._ctr(), "images", "ls", "-q")

    def absent_bases(self, ctx: Context, target: Target) -> list[str]:
        """The base images Docker would have to pull: building them would only try, and fail
        at, a registry outside."""
        bases = base_images((ROOT / target.dockerfile).read_text(encoding="utf-8"))
        docker = ctx.plan.tools.docker
        return [
            base
            for base in bases
            if not ctx.shell.run(cmd(docker, "image", "inspect", base), quiet=True).ok
        ]

    def locust_image(self, ctx: Context) -> None:
        """No registry: the fixture script builds and imports the Locust image; without the
        script, the image must be in the cluster's containerd already."""
        if (ROOT / LOCUST_IMAGE_SCRIPT).is_file():
            ctx.must(cmd("bash", LOCUST_IMAGE_SCRIPT, "--import"), "the Locust image",
                     timeout=1800)  # fmt: skip
            return
        image = yaml.safe_load((ROOT / "locust" / "values.yaml").read_text())["image"]
        name = containerd_name(f"{image['repository']}:{image['tag']}")
        listed = ctx.shell.run(self.containerd_images(), plan_stdout=name)
        if name not in listed.stdout.split():
            raise StepFailed(f"no {name} in the local cluster's containerd, and no "
                             f"{LOCUST_IMAGE_SCRIPT} to build and import it")  # fmt: skip
        state = "must be" if listed.planned else "is"
        print(f"  {name} {state} in the local cluster's containerd already")
