"""The fast path: what `GET /convert` skips of FastAPI's and Starlette's general machinery.

Why: on the hot path FastAPI's general request handling (dependency solver with
two AsyncExitStacks per request, the lazily resolved router of `include_router`,
`Response.__init__`'s header checks) costs more than the whole conversion. Each
piece here removes one of those costs and is proven equivalent by the tests: the
API contract tests run against the app built with it and against a plain-FastAPI
build of the same routes (`create_app(fast_path=False)`, tests/app/conftest.py).

What it accepts. An endpoint registered with `QueryOnlyRoute` must be `async` and
may declare only:

- `Annotated[<scalar>, <pydantic validators>..., Query(...)]` parameters: each is
  validated with the same pydantic type FastAPI would build, compiled once;
- a parameter annotated `Request`;
- `Annotated[T, Depends(LifespanState("key"))]` (such as `app.dependencies.RuntimeDep`):
  one entry of the lifespan state, read with a dict lookup.

Anything else (a body, headers, cookies, path parameters, other dependencies, a
sync endpoint) is refused when the route is built, with a FastAPIError naming it.

What it gives up, on purpose:

- `app.dependency_overrides` does not reach a QueryOnlyRoute (there is no solver);
  tests build apps per settings instead (tests/app/conftest.py).
- A declared query parameter given more than once is a 422 of type `repeated`,
  where FastAPI takes the last value (`?fahrenheit=1&fahrenheit=212` is ambiguous).
  The plain build keeps FastAPI's behaviour; that one case is the only documented
  difference and is tested as such.
- The routes are spliced into the application's own route list instead of being
  included (`include_routers`), so they carry no router-level prefix, tags or
  dependencies beyond what each route declares.
- `JSONBytesResponse` sets its fields directly; it is only for bytes that are
  already JSON.

Framework internals it relies on (re-check them when a pin in requirements.txt moves):

- FastAPI 0.163.2, fastapi/routing.py:3414 `include_router` appends an `_IncludedRouter`
  (class at :1645) that resolves its routes per request; the splice avoids it.
- FastAPI 0.163.2, fastapi/routing.py:129 `request_response` opens two AsyncExitStacks
  per request for dependencies with `yield`; QueryOnlyRoute uses Starlette 1.10.0's
  `starlette.routing.request_response` (starlette/routing.py:47) instead.
- Starlette 1.10.0, starlette/responses.py:34-84: `Response.__init__` and
  `init_headers` set `status_code`, `background`, `body` and `raw_headers`;
  JSONBytesResponse sets the same four fields (tested field by field).
"""

from app.fastpath.mount import include_routers, plain_router
from app.fastpath.responses import JSONBytesResponse, json_response
from app.fastpath.route import LifespanState, QueryOnlyRoute, parse_query

__all__ = [
    "JSONBytesResponse",
    "LifespanState",
    "QueryOnlyRoute",
    "include_routers",
    "json_response",
    "parse_query",
    "plain_router",
]
