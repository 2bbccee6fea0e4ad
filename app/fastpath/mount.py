"""Putting routers into an application: spliced (fast path) or included (plain FastAPI)."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, FastAPI

from app.fastpath.route import QueryOnlyRoute


def include_routers(application: FastAPI, routers: Sequence[APIRouter], *, fast_path: bool) -> None:
    """Every route of `routers` in `application`, first in its route list.

    With the fast path the routes are spliced into the application's own list:
    equivalent to include_router() for routers with no prefix, tags or
    dependencies given at inclusion, minus the ~10 µs per request that FastAPI
    0.163.2's lazily resolved `_IncludedRouter` (fastapi/routing.py:1645, appended
    by include_router at :3414) adds to every request. They go ahead of the
    /docs and /openapi.json routes so the hot path matches first.

    Without it, each router is made plain (plain_router) and included the way
    FastAPI's documentation does it.
    """
    if fast_path:
        application.router.routes[:0] = [route for router in routers for route in router.routes]
        return
    for router in routers:
        application.include_router(plain_router(router))


def plain_router(router: APIRouter) -> APIRouter:
    """A router with the same routes, each QueryOnlyRoute rebuilt as FastAPI's APIRoute."""
    plain = APIRouter()
    plain.routes.extend(
        route.as_plain() if isinstance(route, QueryOnlyRoute) else route for route in router.routes
    )
    return plain
