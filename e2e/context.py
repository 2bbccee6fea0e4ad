"""What the steps share (kind's ActionContext): the options, the plan, the shell, what the run
did so far (Outcome, for the clean-up and the summary), and the helpers every step uses."""

from __future__ import annotations

import shlex
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from e2e.commands import Cmd
from e2e.errors import StepFailed
from e2e.gate import Comparison
from e2e.options import Options
from e2e.plan import Plan
from e2e.shell import Shell
from targets import Target


@dataclass
class StepRecord:
    """How one step went."""

    number: int
    title: str
    seconds: float = 0.0
    status: str = "running"


@dataclass
class Outcome:  # pylint: disable=too-many-instance-attributes
    """What the run did, for the clean-up, the summary and e2e.json."""

    steps: list[StepRecord] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    releases: list[str] = field(default_factory=list)
    built: list[Target] = field(default_factory=list)
    server_dry_run: list[str] = field(default_factory=list)
    runs: dict[str, Path] = field(default_factory=dict)
    hpa: dict[str, str] = field(default_factory=dict)
    # Each measured target's figures, and the comparison of the targets (step 7).
    figures: dict[str, str] = field(default_factory=dict)
    comparison: Comparison | None = None
    namespace_created: bool = False
    metrics_server_installed: bool = False
    kind_created: bool = False


class Context:  # pylint: disable=too-many-instance-attributes
    """One run's shared state. `plan` is replaced once, when the loader is guessed from the
    kube context (step 1)."""

    def __init__(self, options: Options, plan: Plan, shell: Shell) -> None:
        self.options, self.plan, self.shell = options, plan, shell
        self.out = options.out
        self.outcome = Outcome()
        self.context = "<current context>"
        # Scratch space: the pinned kubeconfig, the HPA recordings before they are copied out.
        self.work = Path(tempfile.mkdtemp(prefix="celsiusify-e2e-"))
        self._rendered: dict[str, list[dict[str, Any]]] = {}
        self._locust_args: dict[str, list[str]] = {}

    def must(self, command: Cmd, what: str, **options: Any) -> str:
        """Run a command; StepFailed naming `what` when it fails. Its stdout."""
        result = self.shell.run(command, **options)
        if not result.ok:
            raise StepFailed(f"{what}: {result.reason()}")
        return result.stdout

    def unavailable(self, error: str, note: str | None = None) -> None:
        """Something the run needs is missing: a real run stops with `error` (exit status 2);
        the dry-run plan goes on, noting `note` when given."""
        self.shell.unavailable(error)
        if note is not None:
            self.outcome.notes.append(f"dry run: {note}")

    def live(self) -> list[Target]:
        """Targets measured for real (not sent to --dry-run=server)."""
        return [t for t in self.plan.targets if t.name not in self.outcome.server_dry_run]

    def render(self, key: str, command: Cmd) -> list[dict[str, Any]]:
        """helm template, run even in dry-run mode (it reads no cluster); [] if it cannot."""
        if key not in self._rendered:
            result = self.shell.run(command, local=True, quiet=True)
            docs = list(yaml.safe_load_all(result.stdout)) if result.ok else []
            if not result.ok:
                self.outcome.notes.append(f"could not render {key}: {result.reason()}")
            self._rendered[key] = [doc for doc in docs if isinstance(doc, dict)]
        return self._rendered[key]

    def render_release(self, target: Target) -> list[dict[str, Any]]:
        """A target's release, rendered as it is installed."""
        return self.render(target.release, self.plan.release_template(target))

    def locust_make_args(self, target: Target) -> list[str]:
        """The Makefile's Locust flags for a target (make prints them; nothing is touched)."""
        if target.name not in self._locust_args:
            printed = self.shell.run(self.plan.locust_make_args(target), local=True, quiet=True)
            if not printed.ok:
                raise StepFailed(f"make e2e-locust-args: {printed.reason()}")
            self._locust_args[target.name] = shlex.split(printed.stdout)
        return self._locust_args[target.name]
