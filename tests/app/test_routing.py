"""QueryOnlyRoute: same validation and errors as FastAPI's own handler, and it says
when an endpoint is outside what it supports."""

from __future__ import annotations

from typing import Annotated

import pytest
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import FastAPIError
from fastapi.responses import JSONResponse, Response
from fastapi.testclient import TestClient
from starlette.datastructures import QueryParams

from app.routing import QueryOnlyRoute, parse_query


async def lean(
    count: Annotated[int, Query(ge=1, le=10)],
    label: Annotated[str, Query(alias="name", max_length=5)] = "x",
    *,
    request: Request,
) -> Response:
    return JSONResponse({"count": count, "label": label, "path": request.url.path})


async def standard(
    count: Annotated[int, Query(ge=1, le=10)],
    label: Annotated[str, Query(alias="name", max_length=5)] = "x",
    *,
    request: Request,
) -> Response:
    return JSONResponse({"count": count, "label": label, "path": request.url.path})


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = FastAPI()
    app.router.add_api_route("/lean", lean, route_class_override=QueryOnlyRoute)
    app.router.add_api_route("/standard", standard)
    return TestClient(app)


@pytest.mark.parametrize(
    "query",
    ["count=3", "count=3&name=ab", "", "count=0", "count=11", "count=x", "count=2&name=toolong"],
)
def test_same_answers_as_fastapi(client: TestClient, query: str) -> None:
    ours, theirs = client.get(f"/lean?{query}"), client.get(f"/standard?{query}")
    assert ours.status_code == theirs.status_code
    if ours.status_code == 200:
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
