"""What one process decides at start-up: settings, identifier, metrics, readiness."""

from __future__ import annotations

from app.identifier import make_identifier
from app.metrics import Metrics
from app.settings import Settings


class Runtime:  # pylint: disable=too-many-instance-attributes
    """Created empty with the app; filled by the lifespan handler at start-up.

    Middleware is built before the lifespan runs, so it holds this object and
    reads from it per request instead of capturing values at construction.
    """

    __slots__ = (
        "_body_suffix",
        "_settings_override",
        "identifier",
        "max_batch_size",
        "max_body_bytes",
        "metrics",
        "ready",
        "settings",
    )

    def __init__(self, settings: Settings | None = None) -> None:
        self._settings_override = settings
        self.settings: Settings | None = None
        self.identifier = ""
        self.metrics: Metrics | None = None
        self.ready = False
        self.max_batch_size = 0
        self.max_body_bytes = 0
        self._body_suffix = b""

    def start(self) -> Settings:
        """Load settings (environment unless overridden) and prepare per-process state."""
        settings = self._settings_override or Settings()
        self.settings = settings
        self.identifier = settings.app_identifier or make_identifier()
        self.metrics = Metrics(self.identifier) if settings.metrics_enabled else None
        self.max_batch_size = settings.max_batch_size
        self.max_body_bytes = settings.max_body_bytes
        # The identifier is JSON-safe by construction (see identifier.py).
        self._body_suffix = b'","app_identifier":"' + self.identifier.encode() + b'"}'
        self.ready = True
        return settings

    def single_body(self, celsius: str) -> bytes:
        """JSON for one conversion, assembled from bytes prepared at start-up."""
        return b'{"celsius":"' + celsius.encode() + self._body_suffix

    def batch_body(self, celsius: list[str]) -> bytes:
        """JSON for a batch; values are plain decimal strings, safe to join."""
        joined = '","'.join(celsius).encode()
        return b'{"celsius":["' + joined + b'"]' + self._body_suffix[1:]

    def count_conversions(self, count: int) -> None:
        """Add to the conversions counter when metrics are on."""
        if self.metrics is not None:
            self.metrics.stats.conversions += count
