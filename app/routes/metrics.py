"""GET /metrics: the Prometheus text exposition of app/metrics.py's registry."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.dependencies import RuntimeDep

router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_model=None,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {}}},
        404: {"description": "Metrics are disabled."},
    },
)
async def metrics(runtime: RuntimeDep) -> Response:
    """Text exposition format; 404 when CELSIUSIFY_METRICS_ENABLED=false."""
    if runtime.metrics is None:
        return Response(
            b'{"detail":"metrics are disabled"}', status_code=404, media_type="application/json"
        )
    return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)
