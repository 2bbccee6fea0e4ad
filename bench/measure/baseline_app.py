"""The yardstick for `make perf`: a bare Starlette app doing the same conversion.

No validation beyond float(), no metrics, no dependency injection: the least a
Python ASGI handler can do to answer GET /convert, so the ratio against it
shows what the real service's framework and features cost.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

_SUFFIX = b'","app_identifier":"baseline0-baseline-baseline-baseline"}'


async def convert(request: Request) -> Response:
    """(F - 32) * 5 / 9 with six decimals, or 422 on anything unparsable."""
    try:
        fahrenheit = float(request.query_params["fahrenheit"])
    except (KeyError, ValueError):
        return Response(b'{"detail":"bad fahrenheit"}', status_code=422)
    celsius = f"{(fahrenheit - 32.0) * 5.0 / 9.0:.6f}"
    return Response(b'{"celsius":"' + celsius.encode() + _SUFFIX, media_type="application/json")


app = Starlette(routes=[Route("/convert", convert)])
