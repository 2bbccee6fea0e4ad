"""FastAPI dependencies."""

from __future__ import annotations

from fastapi import Request

from app.runtime import Runtime


async def get_runtime(request: Request) -> Runtime:
    """The per-process runtime (async: a sync dependency would hop to a thread)."""
    runtime: Runtime = request.app.state.runtime
    return runtime
