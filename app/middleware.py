"""The pure-ASGI middleware (no BaseHTTPMiddleware) that times and counts every HTTP request."""

from __future__ import annotations

from time import perf_counter
from typing import TYPE_CHECKING

from app.metrics import REQUEST_STATS, UNMATCHED_ROUTE

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from app.metrics import RequestStats


class MetricsMiddleware:  # pylint: disable=too-few-public-methods
    """Records each request in the RequestStats of the per-request lifespan state.

    Middleware is built before the lifespan runs, so it takes no configuration:
    like the handlers, it reads what start-up decided from `scope["state"]`
    (None there when metrics are off: then it only passes the request on).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        stats: RequestStats | None = scope["state"][REQUEST_STATS]
        if stats is None:
            await self.app(scope, receive, send)
            return
        start = perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", UNMATCHED_ROUTE)
            stats.observe(template, scope["method"], status, perf_counter() - start)
