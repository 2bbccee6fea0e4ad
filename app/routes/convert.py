"""GET /convert and POST /convert."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from app.batch import BatchError, parse_batch
from app.conversion import (
    ABSOLUTE_ZERO_FAHRENHEIT,
    MAX_FAHRENHEIT,
    check_fahrenheit,
    fahrenheit_to_celsius,
    format_celsius,
)
from app.dependencies import RuntimeDep
from app.errors import ErrorResponse
from app.fastpath import QueryOnlyRoute
from app.limits import read_body

router = APIRouter(tags=["conversion"])

_BOUNDS = {"minimum": ABSOLUTE_ZERO_FAHRENHEIT, "maximum": MAX_FAHRENHEIT}
_IDENTIFIER_EXAMPLE = "2MaBSJkj-eC6Be3gl-uQkq7cH6-Fwc36ex7"

FahrenheitQuery = Annotated[
    float,
    AfterValidator(check_fahrenheit),
    Query(
        description="Temperature in degrees Fahrenheit: finite, at or above absolute zero.",
        examples=[212],
        json_schema_extra=_BOUNDS,
    ),
]
FahrenheitValue = Annotated[
    float, Field(strict=True, json_schema_extra=_BOUNDS), AfterValidator(check_fahrenheit)
]


class ConvertResponse(BaseModel):
    """One converted value."""

    celsius: str = Field(description="Exactly six decimals.", examples=["100.000000"])
    app_identifier: str = Field(
        description="Identifier of the process that answered.", examples=[_IDENTIFIER_EXAMPLE]
    )


class BatchConvertRequest(BaseModel):
    """Values to convert, at most the configured batch size."""

    model_config = ConfigDict(extra="forbid")

    fahrenheit: list[FahrenheitValue] = Field(min_length=1, examples=[[212, 32]])


class BatchConvertResponse(BaseModel):
    """Converted values in request order."""

    celsius: list[str] = Field(examples=[["100.000000", "0.000000"]])
    app_identifier: str = Field(examples=[_IDENTIFIER_EXAMPLE])


_ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorResponse, "description": "Missing, malformed or out-of-range value."},
}
_BATCH_ERRORS: dict[int | str, dict[str, Any]] = {
    **_ERRORS,
    413: {"model": ErrorResponse, "description": "Request body over the size limit."},
}


async def convert_one(fahrenheit: FahrenheitQuery, runtime: RuntimeDep) -> Response:
    """celsius = (fahrenheit − 32) × 5 / 9, as a string with six decimals."""
    runtime.stats.conversions += 1
    return runtime.answers.single(format_celsius(fahrenheit_to_celsius(fahrenheit)))


# The hot path: QueryOnlyRoute validates the same declared types without
# FastAPI's dependency solver; what it accepts and gives up is in
# app/fastpath/__init__.py. Both spellings answer 200 directly (no redirect);
# only the first is listed in the schema.
for _path, _listed in (("/convert", True), ("/convert/", False)):
    router.add_api_route(
        _path,
        convert_one,
        methods=["GET"],
        summary="Convert one Fahrenheit value to Celsius",
        response_model=None,
        responses={200: {"model": ConvertResponse}, **_ERRORS},
        include_in_schema=_listed,
        route_class_override=QueryOnlyRoute,
    )


_BATCH_OPENAPI = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": BatchConvertRequest.model_json_schema()}},
    }
}


def validated_batch(body: bytes, max_batch_size: int) -> list[float]:
    """The batch's values, or a 422 naming each problem (bounded: see app/batch.py).

    Parsing the bytes here (rather than declaring a body parameter) keeps every
    malformed body a 422 (FastAPI's own json.loads answers 400 to deeply nested
    JSON), refuses duplicate keys, and bounds the work and the answer's size.
    Any Content-Type is read as JSON, so `curl -d` works.
    """
    try:
        return parse_batch(body, max_batch_size)
    except BatchError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in exc.errors]
        ) from None


@router.post(
    "/convert",
    summary="Convert a batch of Fahrenheit values",
    response_model=None,
    responses={200: {"model": BatchConvertResponse}, **_BATCH_ERRORS},
    openapi_extra=_BATCH_OPENAPI,
)
@router.post("/convert/", include_in_schema=False, response_model=None)
async def convert_batch(request: Request, runtime: RuntimeDep) -> Response:
    """Same formula and formatting as GET, one result per value, in request order."""
    body = await read_body(request, runtime.max_body_bytes)
    values = validated_batch(body, runtime.max_batch_size)
    celsius = [format_celsius(fahrenheit_to_celsius(value)) for value in values]
    runtime.stats.conversions += len(celsius)
    return runtime.answers.batch(celsius)
