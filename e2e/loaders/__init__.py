"""Cluster loaders, one module each behind base.Loader: parse() reads --loader, guess() picks
one from the kube context's name when --loader is not given."""

from __future__ import annotations

from e2e.loaders.base import Loader
from e2e.loaders.kind import KindLoader
from e2e.loaders.local_cluster import LocalClusterLoader
from e2e.loaders.minikube import MinikubeLoader
from e2e.loaders.registry import RegistryLoader

__all__ = ["KindLoader", "Loader", "LocalClusterLoader", "MinikubeLoader", "RegistryLoader"]

FORMS = "kind, minikube, registry=<prefix> or local-cluster"


def parse(text: str, *, kind_name: str, minikube_profile: str) -> Loader:
    """From the --loader option; ValueError with the accepted forms."""
    name, _, argument = text.partition("=")
    if not argument:
        if name == KindLoader.name:
            return KindLoader(kind_name)
        if name == MinikubeLoader.name:
            return MinikubeLoader(minikube_profile)
        if name == LocalClusterLoader.name:
            return LocalClusterLoader()
    if name == RegistryLoader.name and argument.strip("/"):
        return RegistryLoader(argument.strip("/"))
    raise ValueError(f"--loader must be {FORMS}, not {text!r}")


def guess(context: str, *, minikube_profile: str) -> Loader | None:
    """kind-<name> is kind's cluster <name>; a context named as the minikube profile is
    minikube's; any other says nothing."""
    if context.startswith("kind-"):
        return KindLoader(context.removeprefix("kind-"))
    if context == minikube_profile:
        return MinikubeLoader(minikube_profile)
    return None
