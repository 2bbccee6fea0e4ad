"""Every contract case of the HTTP API, in-process (lifespan runs)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from app.identifier import IDENTIFIER_PATTERN
from tests.helpers.server import FIXED_ID


@pytest.mark.parametrize("path", ["/convert", "/convert/"])
@pytest.mark.parametrize(
    ("fahrenheit", "celsius"),
    [("212", "100.000000"), ("98.6", "37.000000"), ("-40", "-40.000000"), ("32", "0.000000"),
     ("-459.67", "-273.150000"), ("1e3", "537.777778"), ("%32%31%32", "100.000000")],
)  # fmt: skip
def test_get_converts_without_redirect(
    client: TestClient, path: str, fahrenheit: str, celsius: str
) -> None:
    response = client.get(f"{path}?fahrenheit={fahrenheit}", follow_redirects=False)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"celsius": celsius, "app_identifier": FIXED_ID}


@pytest.mark.parametrize("path", ["/convert", "/convert/"])
def test_post_converts_in_order(client: TestClient, path: str) -> None:
    response = client.post(path, json={"fahrenheit": [212, 32, 98.6, -40]})
    assert response.status_code == 200
    assert response.json() == {
        "celsius": ["100.000000", "0.000000", "37.000000", "-40.000000"],
        "app_identifier": FIXED_ID,
    }


def test_post_accepts_the_configured_maximum(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_batch_size=5)
    response = client.post("/convert", json={"fahrenheit": [1, 2, 3, 4, 5]})
    assert response.status_code == 200
    assert len(response.json()["celsius"]) == 5


def test_post_reads_json_whatever_the_content_type(client: TestClient) -> None:
    response = client.post("/convert", content=b'{"fahrenheit": [212]}')
    assert response.status_code == 200
    assert response.json()["celsius"] == ["100.000000"]


def test_default_batch_limit_is_1000(client: TestClient) -> None:
    assert client.post("/convert", json={"fahrenheit": [1.0] * 1000}).status_code == 200
    response = client.post("/convert", json={"fahrenheit": [1.0] * 1001})
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "fahrenheit"


# (query string, field named in the error, words in the message)
BAD_QUERIES = [
    ("", "fahrenheit", "required"),
    ("fahrenheit=", "fahrenheit", "valid number"),
    ("fahrenheit=abc", "fahrenheit", "valid number"),
    ("fahrenheit=0x10", "fahrenheit", "valid number"),
    ("fahrenheit=nan", "fahrenheit", "NaN"),
    ("fahrenheit=NaN", "fahrenheit", "NaN"),
    ("fahrenheit=inf", "fahrenheit", "finite"),
    ("fahrenheit=-Infinity", "fahrenheit", "finite"),
    ("fahrenheit=1e400", "fahrenheit", "finite"),
    ("fahrenheit=-1e400", "fahrenheit", "finite"),
    ("fahrenheit=-459.68", "fahrenheit", "absolute zero"),
    ("fahrenheit=1e308", "fahrenheit", "at most"),
    ("celsius=100", "fahrenheit", "required"),
]


@pytest.mark.parametrize(("query", "field", "words"), BAD_QUERIES)
def test_bad_query_is_a_422_naming_the_field(
    client: TestClient, query: str, field: str, words: str
) -> None:
    response = client.get(f"/convert?{query}")
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["field"] == field
    assert error["loc"] == ["query", "fahrenheit"]
    assert words.lower() in error["msg"].lower()
    assert "input" not in error


# (raw body, field named in the error, words in the message)
BAD_BODIES = [
    (b"", "body", "invalid json"),
    (b"{", "body", "invalid json"),
    (b'{"fahrenheit": [1, 2', "body", "invalid json"),
    (b"\xff\xfe", "body", "invalid json"),
    (b"[" * 5000 + b"]" * 5000, "body", "recursion"),
    (b"null", "body", "object"),
    (b"[212]", "body", "object"),
    (b'"212"', "body", "object"),
    (b"{}", "fahrenheit", "required"),
    (b'{"farenheit": [212]}', "fahrenheit", "required"),
    (b'{"fahrenheit": [212], "extra": 1}', "extra", "not permitted"),
    (b'{"fahrenheit": []}', "fahrenheit", "at least 1"),
    (b'{"fahrenheit": 212}', "fahrenheit", "array"),
    (b'{"fahrenheit": "212"}', "fahrenheit", "array"),
    (b'{"fahrenheit": ["212"]}', "fahrenheit[0]", "number"),
    (b'{"fahrenheit": [true]}', "fahrenheit[0]", "number"),
    (b'{"fahrenheit": [null]}', "fahrenheit[0]", "number"),
    (b'{"fahrenheit": [{"f": 1}]}', "fahrenheit[0]", "number"),
    (b'{"fahrenheit": [32, NaN]}', "fahrenheit[1]", "NaN"),
    (b'{"fahrenheit": [Infinity]}', "fahrenheit[0]", "finite"),
    (b'{"fahrenheit": [-Infinity]}', "fahrenheit[0]", "finite"),
    (b'{"fahrenheit": [1e400]}', "fahrenheit[0]", "finite"),
    (b'{"fahrenheit": [1' + b"0" * 400 + b"]}", "fahrenheit[0]", "finite"),
    (b'{"fahrenheit": [32, 0, -500]}', "fahrenheit[2]", "absolute zero"),
]


@pytest.mark.parametrize(("body", "field", "words"), BAD_BODIES)
def test_bad_body_is_a_422_naming_the_field(
    client: TestClient, body: bytes, field: str, words: str
) -> None:
    response = client.post("/convert", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    errors = {error["field"]: error["msg"] for error in response.json()["detail"]}
    assert field in errors
    assert words.lower() in errors[field].lower()


def test_too_many_values_is_a_422(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_batch_size=3)
    response = client.post("/convert", json={"fahrenheit": [1, 2, 3, 4]})
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["field"] == "fahrenheit"
    assert "at most 3" in error["msg"]


def test_oversized_body_is_a_413(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_body_bytes=1024)
    body = json.dumps({"fahrenheit": [1.5] * 400}).encode()
    assert len(body) > 1024
    response = client.post("/convert", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["detail"][0]["field"] == "body"


def test_oversized_streamed_body_is_a_413(make_client: Callable[..., TestClient]) -> None:
    """No Content-Length (chunked): the limit is enforced on the bytes received."""
    client = make_client(max_body_bytes=1024)

    def chunks():  # type: ignore[no-untyped-def]
        yield b'{"fahrenheit": ['
        for _ in range(300):
            yield b"1.5, "
        yield b"1.5]}"

    response = client.post("/convert", content=chunks())
    assert response.status_code == 413


def test_identifier_has_the_documented_shape(make_client: Callable[..., TestClient]) -> None:
    first = make_client().get("/convert?fahrenheit=1").json()["app_identifier"]
    second = make_client().get("/convert?fahrenheit=1").json()["app_identifier"]
    assert IDENTIFIER_PATTERN.match(first)
    assert IDENTIFIER_PATTERN.match(second)
    assert first != second


def test_identifier_is_the_same_in_every_response(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    seen = {client.get(f"/convert?fahrenheit={f}").json()["app_identifier"] for f in range(20)}
    seen.add(client.post("/convert", json={"fahrenheit": [1]}).json()["app_identifier"])
    assert len(seen) == 1


def test_identifier_override_is_validated() -> None:
    from pydantic import ValidationError  # noqa: PLC0415

    from app.settings import Settings  # noqa: PLC0415

    with pytest.raises(ValidationError):
        Settings(app_identifier='bad"id')


def test_healthz_and_readyz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    client.app.state.runtime.ready = False  # type: ignore[attr-defined]
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "shutting down"}
    assert client.get("/healthz").status_code == 200


def test_metrics_can_be_turned_off(make_client: Callable[..., TestClient]) -> None:
    client = make_client(metrics_enabled=False)
    assert client.get("/metrics").status_code == 404
    assert client.get("/convert?fahrenheit=1").status_code == 200


def test_unknown_path_is_a_json_404(client: TestClient) -> None:
    response = client.get("/nope")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"


def test_wrong_method_is_a_405(client: TestClient) -> None:
    assert client.delete("/convert").status_code == 405


def test_openapi_documents_the_contract(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    get = spec["paths"]["/convert"]["get"]
    (parameter,) = get["parameters"]
    assert parameter["name"] == "fahrenheit"
    assert parameter["required"] is True
    assert parameter["schema"]["minimum"] == -459.67
    assert {"200", "422"} <= set(get["responses"])
    post = spec["paths"]["/convert"]["post"]
    body_schema = post["requestBody"]["content"]["application/json"]["schema"]
    assert body_schema["properties"]["fahrenheit"]["type"] == "array"
    assert {"200", "413", "422"} <= set(post["responses"])
    for path in ("/healthz", "/readyz", "/metrics"):
        assert path in spec["paths"]
    assert "/convert/" not in spec["paths"]
    assert client.get("/docs").status_code == 200


def test_no_5xx_for_a_fuzzed_query(client: TestClient) -> None:
    """Odd bytes in the query never reach a 5xx."""
    for raw in ["%00", "%ff", "a" * 10000, "1" * 5000, "%E2%88%9E", "1e-400", "--1", "1..2"]:
        response = client.get(f"/convert?fahrenheit={raw}")
        assert response.status_code in (200, 422), (raw, response.text)
        if response.status_code == 200:
            assert re.match(r"^-?\d+\.\d{6}$", response.json()["celsius"])
