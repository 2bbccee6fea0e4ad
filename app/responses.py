"""The answers of /convert: JSON assembled as bytes from parts prepared at start-up."""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import Response


class ConvertAnswers:
    """One process's /convert answers; `respond` wraps the bytes (app/fastpath/responses.py)."""

    __slots__ = ("_respond", "_suffix")

    def __init__(self, identifier: str, respond: Callable[[bytes], Response]) -> None:
        # The identifier is JSON-safe by construction (see identifier.py).
        self._suffix = b'","app_identifier":"' + identifier.encode() + b'"}'
        self._respond = respond

    def single(self, celsius: str) -> Response:
        """`{"celsius":"…","app_identifier":"…"}` for one converted value."""
        return self._respond(b'{"celsius":"' + celsius.encode() + self._suffix)

    def batch(self, celsius: list[str]) -> Response:
        """The same for a batch; values are plain decimal strings, safe to join."""
        joined = '","'.join(celsius).encode()
        return self._respond(b'{"celsius":["' + joined + b'"]' + self._suffix[1:])
