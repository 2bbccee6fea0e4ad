"""Liveness and readiness: cheap, never shed, and never logged per request."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from app.dependencies import RuntimeDep

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
async def readyz(runtime: RuntimeDep) -> Response:
    """Flips to 503 on SIGTERM so load balancers stop sending new work."""
    if runtime.ready:
        return Response(_OK, media_type=_JSON)
    return Response(_SHUTTING_DOWN, status_code=503, media_type=_JSON)
