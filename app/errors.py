"""Error bodies: always JSON, always naming the field, never echoing raw input.

FastAPI's default 422 body echoes the offending input; a NaN or an infinity in
that echo makes the JSON encoder raise, turning bad input into a 500.

A client that goes away before its body arrived is not a server error: it is
logged at debug and recorded with nginx's 499 ("client closed request"), never
as a 500 with a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.requests import ClientDisconnect

from app.limits import BodyTooLargeError

CLIENT_CLOSED_REQUEST = 499
logger = logging.getLogger("celsiusify")

_LOCATION_ROOTS = frozenset({"body", "query", "path", "header", "cookie"})


class ErrorItem(BaseModel):
    """One problem with the request."""

    field: str = Field(examples=["fahrenheit", "fahrenheit[3]"])
    loc: list[str | int] = Field(examples=[["query", "fahrenheit"]])
    msg: str = Field(examples=["must be at or above absolute zero (-459.67 °F)"])
    type: str = Field(examples=["value_error"])


class ErrorResponse(BaseModel):
    """Body of every 4xx answer."""

    detail: list[ErrorItem]


def error_item(loc: Sequence[str | int], msg: str, error_type: str) -> dict[str, Any]:
    """Build one entry of an error body; field is the loc without its root."""
    field = ""
    for part in loc:
        if isinstance(part, int):
            field += f"[{part}]" if field else ""
        elif part not in _LOCATION_ROOTS or field:
            field += f".{part}" if field else part
    if not field:
        field = str(loc[0]) if loc else "request"
    return {"field": field, "loc": list(loc), "msg": msg, "type": error_type}


def error_response(
    status_code: int, items: Iterable[Mapping[str, Any]], headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """The JSON error answer for a list of error items."""
    return JSONResponse(status_code=status_code, content={"detail": list(items)}, headers=headers)


def _describe(error: Mapping[str, Any]) -> dict[str, Any]:
    message = str(error.get("msg", "invalid value"))
    if error.get("type") == "value_error":
        message = message.removeprefix("Value error, ")
    loc = [part if isinstance(part, int) else str(part) for part in error.get("loc", ())]
    return error_item(loc, message, str(error.get("type", "value_error")))


async def validation_error_handler(_: Request, exc: Exception) -> JSONResponse:
    """422 for any request that fails validation, without the input echo."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else ()
    return error_response(422, (_describe(error) for error in errors))


async def body_too_large_handler(_: Request, exc: Exception) -> JSONResponse:
    """413, and the connection closes: the rest of the body is not worth reading."""
    return error_response(
        413,
        [error_item(["body"], str(exc), "body_too_large")],
        headers={"connection": "close"},
    )


async def client_disconnect_handler(request: Request, _: Exception) -> Response:
    """The client left mid-body: nothing to answer; recorded as 499, logged at debug."""
    logger.debug("client closed the connection before its request body arrived",
                 extra={"path": request.url.path})  # fmt: skip
    return Response(status_code=CLIENT_CLOSED_REQUEST)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on the application."""
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(BodyTooLargeError, body_too_large_handler)
    app.add_exception_handler(ClientDisconnect, client_disconnect_handler)
