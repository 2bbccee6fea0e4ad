"""Liveness, readiness and metrics: cheap, and never logged per request."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.dependencies import get_runtime
from app.runtime import Runtime

router = APIRouter(tags=["operations"])

_OK = b'{"status":"ok"}'
_SHUTTING_DOWN = b'{"status":"shutting down"}'
_JSON = "application/json"


@router.get(
    "/healthz",
    summary="Liveness: the process is up",
    response_model=None,
    responses={200: {"content": {_JSON: {"example": {"status": "ok"}}}}},
)
async def healthz() -> Response:
    """Always 200 while the event loop answers."""
    return Response(_OK, media_type=_JSON)


@router.get(
    "/readyz",
    summary="Readiness: 200 while serving, 503 once shutdown has begun",
    response_model=None,
    responses={
        200: {"content": {_JSON: {"example": {"status": "ok"}}}},
        503: {"content": {_JSON: {"example": {"status": "shutting down"}}}},
    },
)
async def readyz(runtime: Annotated[Runtime, Depends(get_runtime)]) -> Response:
    """Flips to 503 on SIGTERM so load balancers stop sending new work."""
    if runtime.ready:
        return Response(_OK, media_type=_JSON)
    return Response(_SHUTTING_DOWN, status_code=503, media_type=_JSON)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_model=None,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {}}},
        404: {"description": "Metrics are disabled."},
    },
)
async def metrics(runtime: Annotated[Runtime, Depends(get_runtime)]) -> Response:
    """Text exposition format; 404 when CELSIUSIFY_METRICS_ENABLED=false."""
    if runtime.metrics is None:
        return Response(b'{"detail":"metrics are disabled"}', status_code=404, media_type=_JSON)
    return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)
