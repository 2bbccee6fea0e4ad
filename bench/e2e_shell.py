"""How `python -m bench e2e` runs a command, or, in its dry-run mode, only prints it.

Both modes print every command the same way (`  $ <command>`), so the dry-run plan is the real
run's transcript minus the outputs. In dry-run mode only commands marked `local` (they read
files and render templates, never a cluster) are executed; the others return a placeholder.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

from bench.e2e_plan import Cmd
from bench.sysinfo import ROOT


@dataclass(frozen=True)
class Result:
    """What a command did."""

    returncode: int
    stdout: str
    stderr: str

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


class Shell:  # pylint: disable=too-few-public-methods
    """Runs Cmds from the repository's root with the process's environment."""

    def __init__(self, dry_run: bool) -> None:
        self.dry_run = dry_run

    def run(
        self, command: Cmd, *, timeout: float = 900, probe: bool = False, local: bool = False,
        quiet: bool = False, show: bool = False, plan_stdout: str = "",
    ) -> Result:  # fmt: skip
        """Print and run a command. In dry-run mode a non-local command is not run: a probe
        (a question whose answer picks the next commands) answers no, others succeed with
        `plan_stdout`. `show` prints what the command printed, indented."""
        if not quiet:
            print(f"  $ {command.text()}", flush=True)
        if self.dry_run and not local:
            return Result(1 if probe else 0, plan_stdout, "")
        result = execute(command, timeout)
        if show:
            for line in (result.stdout + result.stderr).splitlines():
                print(f"    {line}", flush=True)
        return result


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
