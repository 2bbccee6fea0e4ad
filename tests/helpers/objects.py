"""Kubernetes objects as helm renders them: pick them by kind, validate them strictly, read the
app's flags from a container. Shared by the chart, Locust and e2e tests."""

from __future__ import annotations

import argparse
import copy
import functools
import json
import math
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate

from app.server import parse_args
from tests.helpers.helm import Objects

ROOT = Path(__file__).resolve().parents[2]
# Custom resources' schemas, vendored with their source and version (see the README there).
CRD_SCHEMAS = ROOT / "tests" / "schemas"
# The Kubernetes versions the chart's objects are validated against: the oldest supported, the
# newest kubernetes-validate knows.
OLDEST_KUBERNETES = "1.30.0"
NEWEST_KUBERNETES = kubernetes_validate.latest_version()
# How the chart's containers start the app.
APP = ["python", "-m", "app"]


def by_kind(objects: Objects, kind: str) -> list[dict[str, Any]]:
    return [obj for obj in objects if obj["kind"] == kind]


def one(objects: Objects, kind: str) -> dict[str, Any]:
    """The only object of that kind (fails when there are none or several)."""
    (obj,) = by_kind(objects, kind)
    return obj


def _refuse_unknown_fields(schema: Any) -> Any:
    """An openAPIV3Schema as the API server applies it with strict field validation: an object
    that lists its properties takes no others, unless it preserves unknown fields."""
    if isinstance(schema, dict):
        schema = {key: _refuse_unknown_fields(value) for key, value in schema.items()}
        if (
            "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [_refuse_unknown_fields(item) for item in schema]
    return schema


@functools.cache
def crd_schema(api_version: str, kind: str) -> dict[str, Any] | None:
    """The vendored schema of a custom resource (tests/schemas/<group>/<kind>_<version>.json)."""
    group, _, version = api_version.rpartition("/")
    path = CRD_SCHEMAS / group / f"{kind.lower()}_{version}.json"
    if not group or not path.exists():
        return None
    schema: dict[str, Any] = _refuse_unknown_fields(json.loads(path.read_text()))
    return schema


def validate_object(obj: dict[str, Any], kubernetes_version: str) -> None:
    """Strict validation: a custom resource against its vendored CRD schema, anything else
    against the official Kubernetes schema of that version (kubernetes-validate)."""
    schema = crd_schema(obj["apiVersion"], obj["kind"])
    if schema is None:
        kubernetes_validate.validate(obj, kubernetes_version, strict=True)
    else:
        # OpenAPI v3 schemas are JSON Schema draft 4 with extensions (x-kubernetes-*, ignored
        # here). The schema itself is not checked against the metaschema: its patterns are Go
        # regular expressions (RE2), and some use syntax Python's re refuses.
        error = jsonschema.exceptions.best_match(
            jsonschema.Draft4Validator(schema).iter_errors(copy.deepcopy(obj))
        )
        if error is not None:
            raise error


def app_flags(container: dict[str, Any]) -> argparse.Namespace | None:
    """The server options the container starts the app with, read by the app's own parser (so
    `--port 8080` and `--port=8080` are the same); None when it runs another program."""
    args = container.get("args") or []
    if args[:3] != APP:
        return None
    return parse_args(args[3:])


def drain_seconds(container: dict[str, Any], values: dict[str, Any]) -> int:
    """How long the container's process needs after SIGTERM: the app's drain from the flags it
    runs with, else shutdown.processDrainSeconds of the values it was rendered with."""
    flags = app_flags(container)
    if flags is None:
        return int(values["shutdown"]["processDrainSeconds"])
    return math.ceil(flags.shutdown_delay) + flags.timeout_graceful_shutdown
