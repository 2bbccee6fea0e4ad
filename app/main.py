"""Builds the ASGI application; `app.main:app` is the object servers load."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app import __version__
from app.errors import install_error_handlers
from app.metrics import MetricsMiddleware
from app.routes import convert, health
from app.runtime import Runtime
from app.settings import Settings

logger = logging.getLogger("celsiusify")


@asynccontextmanager
async def lifespan(application: FastAPI) -> AsyncIterator[dict[str, Runtime]]:
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
    # the cheapest way for a handler to reach per-process objects.
    yield {"runtime": runtime}
    runtime.ready = False
    logger.info("stopped", extra={"app_identifier": runtime.identifier})


def create_app(settings: Settings | None = None) -> FastAPI:
    """Cheap: nothing is read from the environment until the lifespan starts."""
    application = FastAPI(
        title="Celsiusify",
        version=__version__,
        summary="Fahrenheit to Celsius, with a per-process identifier.",
        lifespan=lifespan,
        # Prometheus metrics come from our own middleware; FastAPI's native
        # OpenTelemetry hooks would only add per-request checks.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    runtime = Runtime(settings)
    application.state.runtime = runtime
    # Equivalent to include_router() for routers with no prefix, tags or
    # dependencies of their own, minus the ~10 µs per request that FastAPI's
    # lazily resolved _IncludedRouter adds to every request. Placed ahead of the
    # /docs and /openapi.json routes so the hot path matches first.
    application.router.routes[:0] = [*convert.router.routes, *health.router.routes]
    install_error_handlers(application)
    # Outermost: it times everything, error answers included.
    application.add_middleware(MetricsMiddleware, runtime=runtime)
    return application


app = create_app()
