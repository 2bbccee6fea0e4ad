"""The load test's options, declared once: a flag, an environment variable, a default, a help line.

Locust's own parser reads them (main.py registers add_arguments on
events.init_command_line_parser), so each one is listed by `locust -f main.py --help`, can be
set by its flag, its environment variable or a Locust config file, and, unless it chooses
classes, shows in the web UI's start form. A master sends its values to every worker with each
spawn message (locust/runners.py, WorkerRunner's "spawn" handler, Locust 2.47), so in
distributed runs the master's values win; users read them when they start (LoadOptions.of).

Two options choose which classes main.py defines: --load-target (LOAD_TARGET) and --load-shape
(LOAD_SHAPE). Locust collects user and shape classes from the locustfile's namespace when it
imports it, before it parses options, so main.py reads these two first with `chosen()`, the way
Locust reads -f itself (argument_parser.parse_locustfile_option).

Stdlib only: this module is pure and is tested without importing Locust.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any

from lib.stages import Stage, step_stages
from lib.targets import user_classes_by_target

# The user classes each target defines (main.py imports exactly these names).
TARGETS: dict[str, tuple[str, ...]] = user_classes_by_target()
SHAPES = ("none", "step")


def described_targets() -> str:
    """ "celsiusify: A, B; tfserving: C", for the help line."""
    return "; ".join(f"{name}: {', '.join(classes)}" for name, classes in TARGETS.items()
                     if name != "all")  # fmt: skip


def shape_name(text: str) -> str:
    """A shape's name; empty means none (LOAD_SHAPE unset or empty: -u/-r/-t as usual)."""
    return text.strip() or "none"


def optional_float(text: str) -> float | None:
    """A float, or None for an empty value (STEP_SPAWN_RATE="" means: derive it)."""
    return float(text) if text.strip() else None


def switch(text: str) -> bool:
    """1/true/yes/on or 0/false/no/off/empty (STEP_THEN_IDLE=1 in locust/values.yaml)."""
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("", "0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected 1 or 0, not {text!r}")


@dataclass(frozen=True)
class Option:
    """One option as Locust's parser declares it; dest is the attribute on parsed_options."""

    flag: str
    env_var: str
    parse: Callable[[str], Any]
    default: Any
    help: str
    in_web_ui: bool = True
    choices: tuple[str, ...] | None = None

    @property
    def dest(self) -> str:
        return self.flag.removeprefix("--").replace("-", "_")

    def value(self, raw: Any) -> Any:
        """The typed value: the web UI hands strings back for options whose default is None."""
        return self.parse(raw) if isinstance(raw, str) else raw


OPTIONS = (
    Option("--load-target", "LOAD_TARGET", str, "celsiusify",
           "which user classes main.py defines: those a target's manifest lists "
           f"({described_targets()}) "
           "or all; name the one to run, too",
           in_web_ui=False, choices=tuple(TARGETS)),
    Option("--load-shape", "LOAD_SHAPE", shape_name, "none",
           "step: the step-load shape drives the run (the --step-* options); none: -u/-r/-t",
           in_web_ui=False, choices=SHAPES),
    Option("--celsiusify-batch-size", "CELSIUSIFY_BATCH_SIZE", int, 100,
           "values per POST /convert (the batch user of the celsiusify target)"),
    Option("--tfserving-batch-size", "TFSERVING_BATCH_SIZE", int, 1,
           "instances per :predict request (the tfserving target's users)"),
    Option("--tfserving-tolerance-celsius", "TFSERVING_TOLERANCE_CELSIUS", float, 0.01,
           "largest error in °C a TF Serving prediction may have"),
    Option("--tfserving-model", "TFSERVING_MODEL", str, "celsiusify",
           "TF Serving model name in /v1/models/<name>:predict"),
    Option("--failure-examples", "FAILURE_EXAMPLES", int, 3,
           "examples of each failure kind logged per process (counts are in the statistics)"),
    Option("--step-start-users", "STEP_START_USERS", int, 4, "step shape: users of the first step"),
    Option("--step-users", "STEP_USERS", int, 4, "step shape: users added by each step"),
    Option("--step-seconds", "STEP_SECONDS", float, 20.0, "step shape: seconds each step lasts"),
    Option("--step-max-users", "STEP_MAX_USERS", int, 40, "step shape: users of the last step"),
    Option("--step-spawn-rate", "STEP_SPAWN_RATE", optional_float, None,
           "step shape: users started per second (default: the larger of the first and the "
           "step's user counts, so each step is reached within a second)"),
    Option("--step-then-idle", "STEP_THEN_IDLE", switch, False,
           "step shape: 1 holds zero users after the last step instead of stopping (a "
           "headless master in Kubernetes then stays up until its CSVs are fetched)"),
)  # fmt: skip


def add_arguments(parser: Any) -> None:
    """Declare every option on Locust's parser (a listener of init_command_line_parser)."""
    for option in OPTIONS:
        parser.add_argument(
            option.flag, env_var=option.env_var, type=option.parse, default=option.default,
            choices=option.choices, help=f"{option.help} [env var: {option.env_var}]",
            include_in_web_ui=option.in_web_ui,
        )  # fmt: skip


def chosen(parser: Any, args: Sequence[str] | None = None) -> tuple[str, str]:
    """(target, shape) from the flags, environment or config file, before Locust's own parse.

    `parser` is Locust's pre-parser (argument_parser.get_empty_argument_parser(add_help=False)),
    so the two options are read from the same sources as every other. A bad value stops the run
    with one line naming the variable and the flag.
    """
    selecting = OPTIONS[:2]
    for option in selecting:
        parser.add_argument(option.flag, env_var=option.env_var, default=option.default)
    known, _ = parser.parse_known_args(args)
    values = []
    for option in selecting:
        value = option.value(getattr(known, option.dest))
        if value not in (option.choices or ()):
            allowed = ", ".join(option.choices or ())
            raise SystemExit(f"{option.env_var} ({option.flag}) must be one of {allowed}, "
                             f"not {value!r}")  # fmt: skip
        values.append(value)
    return values[0], values[1]


@dataclass(frozen=True)
class LoadOptions:
    """The options' values for one run, typed; Locust's parsed_options as the users read them."""

    load_target: str
    load_shape: str
    celsiusify_batch_size: int
    tfserving_batch_size: int
    tfserving_tolerance_celsius: float
    tfserving_model: str
    failure_examples: int
    step_start_users: int
    step_users: int
    step_seconds: float
    step_max_users: int
    step_spawn_rate: float | None
    step_then_idle: bool

    @classmethod
    def of(cls, parsed: object | None) -> LoadOptions:
        """From Locust's parsed_options; the defaults where it is None (Locust as a library)."""
        by_dest = {option.dest: option for option in OPTIONS}
        return cls(**{
            field.name: by_dest[field.name].value(
                getattr(parsed, field.name, by_dest[field.name].default)
            )
            for field in fields(cls)
        })  # fmt: skip

    def stages(self) -> list[Stage]:
        """The step load's stages; ValueError on nonsense."""
        return step_stages(
            self.step_start_users, self.step_users, self.step_seconds, self.step_max_users,
            self.step_spawn_rate,
        )  # fmt: skip
