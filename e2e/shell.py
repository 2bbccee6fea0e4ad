"""How a run touches the world: Shell runs its commands, makes its folders and starts its
recorders; RecordingShell (--dry-run) prints the same commands and leaves the world alone.

Both print every command the same way (`  $ <command>`), so the dry-run plan is the real run's
transcript minus the outputs. The recording shell still runs the commands marked `local` (they
read files and render templates, never a cluster); every other command gets a placeholder
answer marked `planned`, which a step reads as "the plan does not know". Steps never ask which
shell they hold, except through `measures` where they would judge what a run measured.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from e2e.commands import Cmd
from e2e.errors import UsageError
from targets import ROOT


@dataclass(frozen=True)
class Result:
    """What a command did (or, `planned`, the recording shell's stand-in for it)."""

    returncode: int
    stdout: str
    stderr: str
    planned: bool = False

    @property
    def ok(self) -> bool:
        """Exit status 0."""
        return self.returncode == 0

    def reason(self) -> str:
        """The last line the command printed, for a one-line failure message."""
        for text in (self.stderr, self.stdout):
            lines = [line.strip() for line in text.splitlines() if line.strip()]
            if lines:
                return lines[-1][:300]
        return f"exit status {self.returncode}"


class Background(Protocol):
    """Work that runs beside the steps (bench.measure.hpa's HpaWatcher)."""

    def start(self) -> None:
        """Begin in the background."""

    def stop(self) -> None:
        """End and wait for the end."""


class Shell:
    """Runs Cmds from the repository's root with the process's environment."""

    # Its answers are real, so what the run measured can be judged (the gate, the verdict).
    measures = True

    def run(
        self, command: Cmd, *, timeout: float = 900, probe: bool = False, local: bool = False,
        quiet: bool = False, show: bool = False, plan_stdout: str = "",
    ) -> Result:  # fmt: skip
        """Print and run a command; `show` prints what the command printed, indented.
        `probe`, `local` and `plan_stdout` shape the recording shell's answer (RecordingShell)."""
        if not quiet:
            print(f"  $ {command.text()}", flush=True)
        result = self.answer(command, timeout=timeout, probe=probe, local=local,
                             plan_stdout=plan_stdout)  # fmt: skip
        if show and not result.planned:
            for line in (result.stdout + result.stderr).splitlines():
                print(f"    {line}", flush=True)
        return result

    def answer(
        self, command: Cmd, *, timeout: float, probe: bool, local: bool, plan_stdout: str
    ) -> Result:
        """What the command does: it runs, whatever the recording shell would answer."""
        del probe, local, plan_stdout
        return execute(command, timeout)

    def check(self, command: Cmd) -> Result:
        """A question about this machine that is no step of the plan (does the Docker engine
        answer?): printed and run like any local command."""
        return self.run(command, local=True)

    def unavailable(self, message: str) -> None:
        """Something the run needs is missing: it stops here (exit status 2)."""
        raise UsageError(message)

    def make_dir(self, path: Path) -> None:
        """The results folder, new."""
        path.mkdir(parents=True, exist_ok=False)

    def copy(self, source: Path, destination: Path) -> None:
        """A file the run recorded, into the results."""
        shutil.copyfile(source, destination)

    @contextlib.contextmanager
    def background(self, work: Background) -> Iterator[None]:
        """Run `work` while the block runs."""
        work.start()
        try:
            yield
        finally:
            work.stop()


class RecordingShell(Shell):
    """--dry-run: prints every command in order, runs only the local ones, touches no cluster."""

    measures = False

    def answer(
        self, command: Cmd, *, timeout: float, probe: bool, local: bool, plan_stdout: str
    ) -> Result:
        """Local commands run; others are not run: a probe (a question whose answer picks the
        next commands) answers no, the rest succeed with `plan_stdout`."""
        if local:
            return execute(command, timeout)
        return Result(1 if probe else 0, plan_stdout, "", planned=True)

    def check(self, command: Cmd) -> Result:
        """Not part of the plan: neither printed nor run; the plan assumes yes."""
        del command
        return Result(0, "", "", planned=True)

    def unavailable(self, message: str) -> None:
        """The plan goes on (the step notes what a real run would stop at)."""
        del message

    def make_dir(self, path: Path) -> None:
        """Nothing is written."""
        del path

    def copy(self, source: Path, destination: Path) -> None:
        """Nothing was recorded, nothing is copied."""
        del source, destination

    @contextlib.contextmanager
    def background(self, work: Background) -> Iterator[None]:
        """Nothing is started."""
        del work
        yield


def execute(command: Cmd, timeout: float) -> Result:
    """Run a command or a two-command pipeline; never raises for a failing or missing binary."""
    try:
        if command.stdin_from is None:
            done = subprocess.run(
                command.argv, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                check=False,
            )  # fmt: skip
            return Result(done.returncode, done.stdout, done.stderr)
        return _pipeline(command.stdin_from, command, timeout)
    except FileNotFoundError as error:
        return Result(127, "", f"{error.filename}: command not found")
    except subprocess.TimeoutExpired:
        return Result(124, "", f"{command.text()[:120]}: timed out after {timeout:g} s")


def _pipeline(first: Cmd, second: Cmd, timeout: float) -> Result:
    with subprocess.Popen(
        first.argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as producer:
        assert producer.stdout is not None  # noqa: S101  (PIPE was asked for)
        with subprocess.Popen(
            second.argv, cwd=ROOT, stdin=producer.stdout, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        ) as consumer:  # fmt: skip
            producer.stdout.close()  # the consumer holds the pipe; the producer sees it close
            try:
                out, err = consumer.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                consumer.kill()
                producer.kill()
                raise
        producer_err = producer.stderr.read().decode(errors="replace") if producer.stderr else ""
        producer.wait(timeout=60)
    if producer.returncode != 0:
        return Result(producer.returncode, out, producer_err + err)
    return Result(consumer.returncode, out, err)
