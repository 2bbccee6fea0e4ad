"""JSONBytesResponse, for JSON that is already bytes, and the plain Response it stands for."""

from __future__ import annotations

from starlette.background import BackgroundTask
from starlette.responses import Response

_CONTENT_TYPE = (b"content-type", b"application/json")


class JSONBytesResponse(Response):
    """Response with ready-made JSON bytes, built without Response.__init__.

    Starlette 1.10.0's Response.__init__ (starlette/responses.py:34) renders the
    content and runs init_headers (:58), which checks for given headers, the
    status and the media type's charset on every response. For bytes, no extra
    headers and a status that has a body (not 1xx, 204 or 304) they come to the
    four fields set here, in the same order: tests/app/test_fastpath.py compares
    them with json_response's.
    """

    media_type = "application/json"

    def __init__(self, content: bytes, status_code: int = 200) -> None:  # pylint: disable=super-init-not-called
        self.status_code = status_code
        self.body = content
        self.background: BackgroundTask | None = None
        self.raw_headers = [(b"content-length", str(len(content)).encode()), _CONTENT_TYPE]


def json_response(content: bytes, status_code: int = 200) -> Response:
    """What JSONBytesResponse stands for, through Response.__init__ (the plain build's)."""
    return Response(content, status_code=status_code, media_type="application/json")
