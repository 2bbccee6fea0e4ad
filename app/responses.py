"""A response for JSON that is already bytes."""

from __future__ import annotations

from starlette.background import BackgroundTask
from starlette.responses import Response

_CONTENT_TYPE = (b"content-type", b"application/json")


class JSONBytesResponse(Response):
    """Response with ready-made JSON bytes; headers built without Response's checks."""

    media_type = "application/json"

    def __init__(self, content: bytes, status_code: int = 200) -> None:  # pylint: disable=super-init-not-called
        self.status_code = status_code
        self.body = content
        self.background: BackgroundTask | None = None
        self.raw_headers = [(b"content-length", str(len(content)).encode()), _CONTENT_TYPE]
