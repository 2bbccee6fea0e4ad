"""Application settings, read from CELSIUSIFY_* environment variables."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.identifier import OVERRIDE_PATTERN

LogLevel = Literal["critical", "error", "warning", "info", "debug"]


class Settings(BaseSettings):
    """Every field has a default that works with no environment at all."""

    model_config = SettingsConfigDict(env_prefix="CELSIUSIFY_", extra="ignore")

    log_level: LogLevel = Field("info", description="Logging threshold.")
    app_identifier: str | None = Field(
        None,
        pattern=OVERRIDE_PATTERN,
        description="Fixed identifier instead of a random one made at start-up.",
    )
    max_batch_size: int = Field(
        1000, ge=1, le=1_000_000, description="Most values one POST /convert may carry."
    )
    max_body_bytes: int = Field(
        262_144, ge=1024, description="Largest request body accepted; larger gets 413."
    )
    metrics_enabled: bool = Field(True, description="Serve /metrics and count requests.")
    access_log: bool = Field(False, description="One log line per request (never for the probes).")
