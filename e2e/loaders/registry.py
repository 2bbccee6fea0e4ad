"""A registry: images tagged under its prefix and pushed there; the nodes pull them."""

from __future__ import annotations

from dataclasses import dataclass

from e2e.commands import Cmd, Tools, cmd
from e2e.loaders.base import Loader


@dataclass(frozen=True)
class RegistryLoader(Loader):
    """registry=<prefix>: any cluster whose nodes can pull from that registry."""

    name = "registry"
    prefix: str

    @property
    def registry(self) -> str:
        """The images are <prefix>/<name>:<tag>."""
        return self.prefix

    def load(self, ref: str, tools: Tools) -> Cmd:
        """docker push to the registry."""
        return cmd(tools.docker, "push", ref)
