"""(1) Tools and context: every binary the chosen path needs, the loader's own checks, the
opt-in kind cluster, then the current kube context pinned (with the run's namespace) for every
later kubectl and helm call."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

import yaml

from e2e import loaders
from e2e.commands import cmd
from e2e.context import Context
from e2e.errors import UsageError
from e2e.loaders import kind
from e2e.steps import Step

INSTALL_HINTS = {
    "docker": "install Docker Engine (https://docs.docker.com/engine/install/), which builds "
    "the images",
    "kubectl": "install kubectl (https://kubernetes.io/docs/tasks/tools/) or put it on PATH",
    "helm": "run `make helm`, or install helm (https://helm.sh/docs/intro/install/)",
    "make": "install make (apt-get install make)",
}
# The overlay kubeconfig's one context.
PINNED = "celsiusify-e2e"


class ToolsAndContext(Step):
    """Step 1; a UsageError here ends the run with exit status 2."""

    number = 1
    name = "tools and context"

    def run(self, ctx: Context) -> None:
        """Tools, the loader's checks, the Docker engine, kind create, the context."""
        check_tools(ctx)
        ctx.plan.loader.check(ctx)
        tools = ctx.plan.tools
        docker = ctx.shell.check(cmd(tools.docker, "version", "--format", "{{.Server.Version}}"))
        if not docker.ok:
            raise UsageError(f"the Docker engine does not answer: {docker.reason()}")
        if ctx.options.kind_create:
            ctx.must(kind.create_cluster(ctx.options.kind_name), "kind create cluster",
                     timeout=600)  # fmt: skip
            ctx.outcome.kind_created = True
        pin_context(ctx)


def check_tools(ctx: Context) -> None:
    """Every binary the chosen path needs is a file or on PATH."""
    needed = dict(INSTALL_HINTS)
    if ctx.options.kind_create:
        needed.update(kind.BINARIES)
    needed.update(ctx.plan.loader.binaries)
    for name, hint in needed.items():
        binary = getattr(ctx.plan.tools, name, name)
        if not (Path(binary).is_file() if os.sep in binary else shutil.which(binary)):
            message = f"{name} not found: {hint}"
            ctx.unavailable(message, note=message)


def pin_context(ctx: Context) -> None:
    """Pin the current context and the run's namespace for every later kubectl and helm call
    (and the HPA recorder, which names no namespace): a kubeconfig of one context put first in
    KUBECONFIG, pointing at the same cluster and user, copying no credential."""
    base = ctx.plan.loader.kubeconfig()
    kubectl = ctx.plan.tools.kubectl
    os.environ["KUBECONFIG"] = base
    current = ctx.shell.run(cmd(kubectl, "config", "current-context"), local=True)
    if not current.ok:
        ctx.unavailable(
            f"no current kube context in {base}: set KUBECONFIG or `kubectl config "
            "use-context NAME`, or pass --kind-create",
            note=f"no current context in {base}",
        )
        ctx.shell.run(cmd(kubectl, "get", "--raw", "/readyz"))
        return
    ctx.context = current.stdout.strip()
    resolve_loader(ctx)
    view = ctx.shell.run(
        cmd(
            kubectl,
            "config",
            "view",
            "--minify",
            "-o",
            "jsonpath={.contexts[0].context.cluster} {.contexts[0].context.user}",
        ),
        local=True,
        quiet=True,
    )
    cluster, _, user = view.stdout.strip().partition(" ")
    overlay = ctx.work / "kubeconfig"
    context = {"cluster": cluster, "user": user, "namespace": ctx.plan.namespace}
    overlay.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": PINNED,
                "contexts": [{"name": PINNED, "context": context}],
            }
        )
    )
    os.environ["KUBECONFIG"] = f"{overlay}{os.pathsep}{base}"
    print(
        f"  context {ctx.context} (cluster {cluster}), namespace {ctx.plan.namespace}: "
        f"KUBECONFIG={os.environ['KUBECONFIG']}"
    )
    ready = ctx.shell.run(cmd(kubectl, "get", "--raw", "/readyz"), timeout=30)
    if not ready.ok:
        raise UsageError(
            f"the cluster of context {ctx.context} does not answer ({ready.reason()}): "
            "start it, or choose another context"
        )


def resolve_loader(ctx: Context) -> None:
    """--loader, else guessed from the context's name."""
    if ctx.options.loader is not None:
        return
    guessed = loaders.guess(ctx.context, minikube_profile=ctx.options.minikube_profile)
    if guessed is None:
        raise UsageError(
            f"context {ctx.context}: say how images reach its nodes with --loader "
            "kind|minikube|registry=<prefix>|local-cluster"
        )
    ctx.plan = replace(ctx.plan, loader=guessed)
