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
    # Limits the server process holds by itself (app/protocol.py); the defaults were
    # chosen by measurement (results/README.md, `make overload`), for one CPU and a 128 MiB pod.
    max_header_bytes: int = Field(
        16_384,
        ge=1024,
        le=1_048_576,
        description="Largest request line plus headers; larger gets 431 and the connection closes.",
    )
    header_timeout_seconds: float = Field(
        10.0, gt=0, le=600, description="Time to receive a request's line and headers, else 408."
    )
    body_timeout_seconds: float = Field(
        30.0, gt=0, le=3600, description="Time to receive a body after its head, else 408."
    )
    keep_alive_timeout_seconds: float = Field(
        5.0, gt=0, le=3600, description="Idle keep-alive connections close after this long."
    )
    max_connections: int = Field(
        6144, ge=16, le=1_000_000, description="Open connections; past it, 503 and close."
    )
    max_requests_in_flight: int = Field(
        128,
        ge=1,
        le=100_000,
        description="Requests handled at once; past it, 503 with Retry-After (probes exempt).",
    )
    # Keep-alive clients (Locust, connection pools) hold a connection for good, and
    # kube-proxy picks a pod per connection: without a bound, pods added by a
    # scale-out get none of their traffic. Provisional defaults, to be set from
    # measurement; they live here only (server.limits_from passes them on).
    max_requests_per_connection: int = Field(
        1000,
        ge=0,
        le=100_000_000,
        description="Requests one connection serves; the last answer says Connection: close "
        "and the server closes (0: no bound).",
    )
    max_connection_age_seconds: float = Field(
        30.0,
        ge=0,
        le=86_400,
        description="Age past which a connection's next answer says Connection: close and the "
        "server closes (0: no bound).",
    )
    max_connection_age_jitter: float = Field(
        0.1,
        ge=0,
        le=0.5,
        description="Each connection's age bound is drawn once within ± this fraction, so "
        "clients that connected together do not all reconnect together.",
    )
