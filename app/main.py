"""Builds the ASGI application; `app.main:app` is the object servers load."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from app import __version__
from app.dependencies import RUNTIME
from app.errors import install_error_handlers
from app.fastpath import JSONBytesResponse, include_routers, json_response
from app.metrics import REQUEST_STATS
from app.middleware import MetricsMiddleware
from app.routes import convert, metrics, probes
from app.runtime import Runtime
from app.settings import Settings

logger = logging.getLogger("celsiusify")


@asynccontextmanager
async def lifespan(application: FastAPI) -> AsyncIterator[dict[str, Any]]:
    """Start-up decides everything per process; shutdown only logs."""
    runtime: Runtime = application.state.runtime
    settings = runtime.start()
    logger.info(
        "started",
        extra={
            "app_identifier": runtime.identifier,
            "version": __version__,
            "metrics": settings.metrics_enabled,
            "max_batch_size": settings.max_batch_size,
        },
    )
    # Everything built so far lives as long as the process: move it out of the
    # collector's generations so each collection walks only per-request objects.
    gc.collect()
    gc.freeze()
    # Lifespan state: the server copies it into every request's scope["state"],
    # the cheapest way for handlers (RuntimeDep) and middleware to reach it.
    yield {
        RUNTIME: runtime,
        REQUEST_STATS: runtime.stats if runtime.metrics is not None else None,
    }
    runtime.ready = False
    logger.info("stopped", extra={"app_identifier": runtime.identifier})


def create_app(settings: Settings | None = None, *, fast_path: bool = True) -> FastAPI:
    """Cheap: nothing is read from the environment until the lifespan starts.

    `fast_path=False` builds the same routes with FastAPI's own routing and
    responses (app/fastpath/__init__.py), for the tests that prove them equivalent.
    """
    application = FastAPI(
        title="Celsiusify",
        version=__version__,
        summary="Fahrenheit to Celsius, with a per-process identifier.",
        lifespan=lifespan,
        # Prometheus metrics come from our own middleware; FastAPI's native
        # OpenTelemetry hooks would only add per-request checks.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    application.state.runtime = Runtime(
        settings, respond=JSONBytesResponse if fast_path else json_response
    )
    include_routers(
        application, [convert.router, probes.router, metrics.router], fast_path=fast_path
    )
    install_error_handlers(application)
    # Outermost: it times everything, error answers included.
    application.add_middleware(MetricsMiddleware)
    return application


app = create_app()
