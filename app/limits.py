"""Reading a request body within the size limit: 413 before it is parsed.

The limit is applied where the body is read (the handler), not in a middleware,
so a 413 is recorded under the route it was sent to and GET requests pay
nothing for it. Content-Length is checked first; a body without one (chunked)
is counted as it streams in, and reading stops at the limit.
"""

from __future__ import annotations

from fastapi import Request

# Longer Content-Length values are over any limit; int() of them is not needed
# (and past 4300 digits Python refuses to convert).
_MAX_LENGTH_DIGITS = 18


class BodyTooLargeError(Exception):
    """The request body is larger than the limit (the handler answers 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body is larger than {limit} bytes")
        self.limit = limit


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, or BodyTooLargeError as soon as it is known to pass `limit`.

    A client that goes away mid-body raises Starlette's ClientDisconnect.
    """
    declared = request.headers.get("content-length")
    if declared is not None and (
        len(declared) > _MAX_LENGTH_DIGITS or not declared.isdigit() or int(declared) > limit
    ):
        raise BodyTooLargeError(limit)
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise BodyTooLargeError(limit)
        chunks.append(chunk)
    return b"".join(chunks)
