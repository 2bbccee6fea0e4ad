"""The fast path (app/fastpath): QueryOnlyRoute gives the same validation and errors as
FastAPI's own handler and says when an endpoint is outside what it supports; the app's two
builds (fast path and plain FastAPI) differ only where the package docstring says.

The API contract itself runs against both builds: tests/app/conftest.py parametrizes the
clients of test_api.py and test_metrics.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import FastAPIError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.datastructures import QueryParams

from app.fastpath import (
    JSONBytesResponse,
    LifespanState,
    QueryOnlyRoute,
    json_response,
    parse_query,
    plain_router,
)
from app.main import create_app
from app.routes import convert

UnitDep = Annotated[str, Depends(LifespanState("unit"))]


async def lean(
    count: Annotated[int, Query(ge=1, le=10)],
    unit: UnitDep,
    label: Annotated[str, Query(alias="name", max_length=5)] = "x",
    *,
    request: Request,
) -> Response:
    return JSONResponse({"count": count, "label": label, "unit": unit, "path": request.url.path})


async def standard(
    count: Annotated[int, Query(ge=1, le=10)],
    unit: UnitDep,
    label: Annotated[str, Query(alias="name", max_length=5)] = "x",
    *,
    request: Request,
) -> Response:
    return JSONResponse({"count": count, "label": label, "unit": unit, "path": request.url.path})


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[dict[str, Any]]:
    yield {"unit": "°F"}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    app = FastAPI(lifespan=lifespan)
    app.router.add_api_route("/lean", lean, route_class_override=QueryOnlyRoute)
    app.router.add_api_route("/standard", standard)
    with TestClient(app) as started:
        yield started


@pytest.mark.parametrize(
    "query",
    ["count=3", "count=3&name=ab", "", "count=0", "count=11", "count=x", "count=2&name=toolong"],
)
def test_same_answers_as_fastapi(client: TestClient, query: str) -> None:
    ours, theirs = client.get(f"/lean?{query}"), client.get(f"/standard?{query}")
    assert ours.status_code == theirs.status_code
    if ours.status_code == 200:
        assert ours.json()["unit"] == "°F"
        assert ours.json() | {"path": ""} == theirs.json() | {"path": ""}
    else:
        assert [(e["loc"], e["type"]) for e in ours.json()["detail"]] == [
            (e["loc"], e["type"]) for e in theirs.json()["detail"]
        ]


def test_openapi_is_unchanged(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert paths["/lean"]["get"]["parameters"] == paths["/standard"]["get"]["parameters"]


def test_refuses_unsupported_endpoints() -> None:
    def sync_endpoint(count: Annotated[int, Query()]) -> Response:
        return Response()

    async def body_endpoint(count: int) -> Response:
        return Response()

    with pytest.raises(FastAPIError, match="async"):
        QueryOnlyRoute("/a", sync_endpoint)
    with pytest.raises(FastAPIError, match="Query"):
        QueryOnlyRoute("/b", body_endpoint)


async def get_unit() -> str:
    return "°F"


async def solved(unit: Annotated[str, Depends(get_unit)]) -> Response:
    return Response(unit)


def test_refuses_dependencies_other_than_lifespan_state() -> None:
    with pytest.raises(FastAPIError, match="LifespanState"):
        QueryOnlyRoute("/c", solved)


def test_as_plain_is_the_same_route_without_the_fast_path() -> None:
    (fast,) = [r for r in convert.router.routes if isinstance(r, QueryOnlyRoute)][:1]
    plain = fast.as_plain()
    assert type(plain) is APIRoute
    for attribute in ("path", "name", "methods", "include_in_schema", "responses", "summary"):
        assert getattr(plain, attribute) == getattr(fast, attribute), attribute
    routes = plain_router(convert.router).routes
    assert len(routes) == len(convert.router.routes)
    assert not any(isinstance(route, QueryOnlyRoute) for route in routes)


@pytest.mark.parametrize("status_code", [200, 201, 422, 503])
@pytest.mark.parametrize("body", [b'{"celsius":"100.000000"}', b"{}", b""])
def test_json_bytes_response_sets_what_response_init_sets(body: bytes, status_code: int) -> None:
    """Starlette's Response.__init__ would set exactly these fields (app/fastpath/responses.py)."""
    ours, theirs = JSONBytesResponse(body, status_code), json_response(body, status_code)
    assert type(theirs) is Response
    for attribute in ("status_code", "body", "background", "raw_headers", "media_type"):
        assert getattr(ours, attribute) == getattr(theirs, attribute), attribute
    assert ours.headers == theirs.headers


def test_the_builds_document_the_same_api() -> None:
    assert create_app(fast_path=True).openapi() == create_app(fast_path=False).openapi()


def test_each_build_is_what_it_says(
    make_client: Callable[..., TestClient], fast_path: bool
) -> None:
    """Without this, a switch that changed nothing would pass every test twice."""
    application = make_client().app
    assert isinstance(application, FastAPI)
    fast_routes = [r for r in application.router.routes if isinstance(r, QueryOnlyRoute)]
    answer = application.state.runtime.answers.single("1.000000")
    if fast_path:
        assert [r.path for r in fast_routes] == ["/convert", "/convert/"]
        assert application.router.routes[0] is fast_routes[0]  # ahead of /docs
        assert type(answer) is JSONBytesResponse
    else:
        assert not fast_routes
        assert type(answer) is Response


def test_a_repeated_parameter_is_the_one_documented_difference(
    make_client: Callable[..., TestClient], fast_path: bool
) -> None:
    """The fast path refuses `?fahrenheit=1&fahrenheit=212`; FastAPI takes the last value."""
    response = make_client().get("/convert?fahrenheit=1&fahrenheit=212")
    if fast_path:
        assert response.status_code == 422
        assert [error["type"] for error in response.json()["detail"]] == ["repeated"]
    else:
        assert response.status_code == 200
        assert response.json()["celsius"] == "100.000000"


@pytest.mark.parametrize(
    "raw",
    [b"", b"a=1", b"a=1&a=2", b"a", b"a=&b", b"&&a=1&", b"a=1=2", b"a%20b=c+d", b"x=\xc3\xa9"],
)
def test_parse_query_matches_starlette(raw: bytes) -> None:
    assert parse_query(raw)[0] == dict(QueryParams(raw.decode("latin-1")))


@pytest.mark.parametrize(
    ("raw", "repeated"),
    [(b"a=1", {}), (b"a=1&b=2", {}), (b"a=1&a=2", {"a": 2}), (b"a=1&b&a=3&a", {"a": 3}),
     (b"a=%31&a=2", {"a": 2}), (b"&&a=1&", {})],
)  # fmt: skip
def test_parse_query_names_repeated_parameters(raw: bytes, repeated: dict[str, int]) -> None:
    assert parse_query(raw)[1] == repeated
