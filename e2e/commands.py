"""A command as data (Cmd, and the binaries it names, Tools): the plan builds them, the shell
runs or records them, so the dry-run plan and the real run print the very same lines."""

from __future__ import annotations

import shlex
from dataclasses import dataclass


@dataclass(frozen=True)
class Cmd:
    """One command, optionally fed by another's stdout (a two-command pipeline)."""

    argv: tuple[str, ...]
    stdin_from: Cmd | None = None

    def text(self) -> str:
        """The command as a shell would read it."""
        own = shlex.join(self.argv)
        return f"{self.stdin_from.text()} | {own}" if self.stdin_from else own


def cmd(*argv: str) -> Cmd:
    """A Cmd from its words."""
    return Cmd(tuple(argv))


@dataclass(frozen=True)
class Tools:
    """The binaries every run calls (e2e/run.py resolves them; a loader may replace kubectl).
    A loader's own binaries (kind, minikube, ctr) are the loader's."""

    kubectl: str = "kubectl"
    helm: str = "helm"
    docker: str = "docker"
