"""QueryOnlyRoute: an APIRoute that calls its endpoint without FastAPI's dependency solver.

It validates each query parameter with the same pydantic type the endpoint
declares (compiled once, when the route is built), raises the same
RequestValidationError, and calls the endpoint directly. FastAPI still reads the
signature, so OpenAPI and /docs are unchanged. What it accepts and gives up: the
package docstring (app/fastpath/__init__.py).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request
from fastapi.exceptions import FastAPIError, RequestValidationError
from fastapi.params import Depends, Query
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import TypeAdapter, ValidationError
from pydantic_core import PydanticUndefined
from starlette.routing import request_response

_MISSING = object()


def parse_query(query_string: bytes) -> tuple[dict[str, str], dict[str, int]]:
    """What Request.query_params holds (last value wins), and the names given more than once.

    The second dict maps each repeated name to how often it appeared; it is
    empty (and costs nothing to build) when no name repeats. Strings with
    nothing to unquote take a split-only path that parse_qsl would return
    unchanged.
    """
    text = query_string.decode("latin-1")
    if "%" in text or "+" in text:
        pairs = parse_qsl(text, keep_blank_values=True)
        query = dict(pairs)
        if len(query) == len(pairs):
            return query, {}
        names = [name for name, _ in pairs]
    else:
        query = {}
        count = 0
        for pair in text.split("&"):
            if pair:
                name, _, value = pair.partition("=")
                query[name] = value
                count += 1
        if len(query) == count:
            return query, {}
        names = [pair.partition("=")[0] for pair in text.split("&") if pair]
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    return query, {name: count for name, count in counts.items() if count > 1}


class _QueryParameter:  # pylint: disable=too-few-public-methods
    """One declared query parameter and the validator compiled for it."""

    __slots__ = ("adapter", "alias", "default", "name")

    def __init__(self, parameter: inspect.Parameter) -> None:
        annotation = parameter.annotation
        metadata = getattr(annotation, "__metadata__", ())
        query = next((item for item in metadata if isinstance(item, Query)), None)
        if query is None:
            raise FastAPIError(
                f"QueryOnlyRoute: parameter {parameter.name!r} must be Annotated[..., Query(...)],"
                " Request or Annotated[..., Depends(LifespanState(...))]"
            )
        self.name = parameter.name
        self.alias = query.alias or parameter.name
        # Annotated[T, <validators>, Query(...)]: Query is a pydantic FieldInfo, so
        # pydantic applies its constraints and every validator, as FastAPI would.
        self.adapter: TypeAdapter[Any] = TypeAdapter(annotation)
        if parameter.default is not inspect.Parameter.empty:
            self.default: Any = parameter.default
        elif query.default is not PydanticUndefined:
            self.default = query.default
        else:
            self.default = _MISSING

    def validate(self, raw: str | None, errors: list[dict[str, Any]]) -> Any:
        """The validated value, or None with the problems appended to errors."""
        loc = ("query", self.alias)
        if raw is None:
            if self.default is _MISSING:
                errors.append({"type": "missing", "loc": loc, "msg": "Field required"})
            return self.default
        try:
            return self.adapter.validate_python(raw)
        except ValidationError as exc:
            for error in exc.errors(include_url=False, include_input=False):
                errors.append({**error, "loc": loc + tuple(error["loc"])})
            return None


class LifespanState:  # pylint: disable=too-few-public-methods
    """A dependency on one entry of the lifespan state: `Depends(LifespanState("runtime"))`.

    FastAPI's solver calls it like any async dependency; QueryOnlyRoute recognises it
    and reads the same entry with one dict lookup. The lifespan state is what the
    server copies into every request's `scope["state"]` (a plain dict lookup:
    `request.app.state.x` costs ~0.8 µs through State.__getattr__, and
    `request.state` builds a State object per request).
    """

    __slots__ = ("key",)

    def __init__(self, key: str) -> None:
        self.key = key

    async def __call__(self, request: Request) -> Any:
        return request.scope["state"][self.key]

    def __repr__(self) -> str:
        return f"LifespanState({self.key!r})"


def _lifespan_key(parameter: inspect.Parameter) -> str | None:
    """The state key of an `Annotated[T, Depends(LifespanState(key))]` parameter, else None."""
    for item in getattr(parameter.annotation, "__metadata__", ()):
        if isinstance(item, Depends) and isinstance(item.dependency, LifespanState):
            return item.dependency.key
    return None


class QueryOnlyRoute(APIRoute):
    """APIRoute whose handler skips FastAPI's dependency solver (see the package doc)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        # Kept to build the same route as a plain APIRoute (as_plain).
        self._arguments = (path, endpoint, kwargs)
        # FastAPI's request_response (fastapi/routing.py:129 in 0.163.2) opens two
        # AsyncExitStacks per request for dependencies with yield; this route has
        # none, so Starlette's suffices (it keeps the route-level exception handling).
        self.app = request_response(self.get_route_handler())

    def as_plain(self) -> APIRoute:
        """The same route built by FastAPI's own APIRoute, from the same arguments."""
        path, endpoint, kwargs = self._arguments
        return APIRoute(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        endpoint: Callable[..., Awaitable[Response]] = self.endpoint
        if not inspect.iscoroutinefunction(endpoint):
            raise FastAPIError("QueryOnlyRoute needs an async endpoint")
        signature = inspect.signature(endpoint, eval_str=True).parameters.values()
        # A parameter annotated Request receives the request, as in FastAPI.
        request_names = [p.name for p in signature if p.annotation is Request]
        state_entries = [(p.name, key) for p in signature if (key := _lifespan_key(p)) is not None]
        parameters = [
            _QueryParameter(p)
            for p in signature
            if p.annotation is not Request and _lifespan_key(p) is None
        ]

        async def handler(request: Request) -> Response:
            scope = request.scope
            query, repeated = parse_query(scope["query_string"])
            errors: list[dict[str, Any]] = []
            values: dict[str, Any] = {}
            # A plain loop: on Python 3.11 a comprehension is a function call of its own.
            for parameter in parameters:
                values[parameter.name] = parameter.validate(query.get(parameter.alias), errors)
            if repeated:
                # FastAPI would take the last value: ?fahrenheit=1&fahrenheit=212 is
                # ambiguous, so it is refused (see the package doc).
                errors = [
                    *(
                        {"type": "repeated", "loc": ("query", p.alias),
                         "msg": f"must be given once, got {repeated[p.alias]} values"}
                        for p in parameters
                        if p.alias in repeated
                    ),
                    *(e for e in errors if e["loc"][1] not in repeated),
                ]  # fmt: skip
            if errors:
                raise RequestValidationError(errors)
            for name in request_names:
                values[name] = request
            if state_entries:
                state = scope["state"]
                for name, key in state_entries:
                    values[name] = state[key]
            return await endpoint(**values)

        return handler
