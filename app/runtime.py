"""What one process decides at start-up: settings, identifier, readiness, metrics, answers."""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import Response

from app.identifier import make_identifier
from app.metrics import Metrics, RequestStats
from app.responses import ConvertAnswers
from app.settings import Settings


class Runtime:  # pylint: disable=too-many-instance-attributes,too-few-public-methods
    """Created empty with the app, filled by the lifespan at start-up.

    Handlers reach it through `app.dependencies.RuntimeDep` (the lifespan state);
    code outside a request (the server, tests) through `app.state.runtime`.
    """

    __slots__ = (
        "_respond",
        "_settings_override",
        "answers",
        "identifier",
        "max_batch_size",
        "max_body_bytes",
        "metrics",
        "ready",
        "settings",
        "stats",
    )

    def __init__(self, settings: Settings | None, respond: Callable[[bytes], Response]) -> None:
        self._settings_override = settings
        self._respond = respond
        self.settings: Settings | None = None
        self.identifier = ""
        # Counted whether or not metrics are exported (a plain int each: cheaper
        # than asking); exported only through `metrics`, None when they are off.
        self.stats = RequestStats()
        self.metrics: Metrics | None = None
        self.answers = ConvertAnswers("", respond)
        self.ready = False
        self.max_batch_size = 0
        self.max_body_bytes = 0

    def start(self) -> Settings:
        """Load settings (environment unless overridden) and prepare per-process state."""
        settings = self._settings_override or Settings()
        self.settings = settings
        self.identifier = settings.app_identifier or make_identifier()
        self.stats = RequestStats()
        self.metrics = Metrics(self.identifier, self.stats) if settings.metrics_enabled else None
        self.answers = ConvertAnswers(self.identifier, self._respond)
        self.max_batch_size = settings.max_batch_size
        self.max_body_bytes = settings.max_body_bytes
        self.ready = True
        return settings
