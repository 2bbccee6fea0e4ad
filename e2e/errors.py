"""The two ways a run stops early: UsageError (exit status 2) and StepFailed (exit status 1)."""


class UsageError(Exception):
    """A missing tool, an unreachable cluster or bad options: one line, exit status 2."""


class StepFailed(Exception):
    """A step could not do its job: one line, diagnostics, clean-up, exit status 1."""
