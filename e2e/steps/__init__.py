"""The run's steps, one module each behind Step (kind's actions/action.go); e2e/run.py builds
the ordered list and runs it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from e2e.context import Context


class Step(ABC):  # pylint: disable=too-few-public-methods
    """One numbered step of the run: it does its job on the shared context or raises
    StepFailed (UsageError in the first step, which checks what the run needs)."""

    # Its number in the printed [n/8] (6, the HPA recording, runs inside 5).
    number: ClassVar[int]
    # What it does, as the transcript and e2e.json title it.
    name: ClassVar[str]

    @abstractmethod
    def run(self, ctx: Context) -> None:
        """Do the step's job."""
