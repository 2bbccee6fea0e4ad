"""Helm fixtures: the binary (PATH, else .tools/bin/helm from `make helm`) and rendering."""

from __future__ import annotations

import argparse
import copy
import functools
import json
import math
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from app.server import parse_args

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "celsiusify-chart"
# Custom resources' schemas, vendored with their source and version (see the README there).
CRD_SCHEMAS = ROOT / "tests" / "schemas"

Objects = list[dict[str, Any]]


def find_helm() -> str | None:
    """$HELM, else helm on PATH, else the one `make helm` fetches."""
    local = ROOT / ".tools" / "bin" / "helm"
    return (
        os.environ.get("HELM") or shutil.which("helm") or (str(local) if local.exists() else None)
    )


@pytest.fixture(scope="session")
def helm() -> str:
    binary = find_helm()
    if binary is None:
        pytest.skip("no helm binary: put helm on PATH or run `make helm` (make test does)")
    return binary


def run_helm(helm: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([helm, *args], capture_output=True, text=True, check=False, cwd=ROOT)


@pytest.fixture(scope="session")
def render(helm: str) -> Callable[..., Objects]:
    """Render the chart with values files and --set (--set-json) pairs; fail with helm's stderr."""

    def _render(
        *values_files: str,
        sets: tuple[str, ...] = (),
        json_sets: tuple[str, ...] = (),
        release: str = "demo",
        namespace: str = "bench",
    ) -> Objects:
        args = ["template", release, str(CHART), "--namespace", namespace]
        for values_file in values_files:
            args += ["-f", str(ROOT / values_file)]
        for pair in sets:
            args += ["--set", pair]
        for pair in json_sets:
            args += ["--set-json", pair]
        result = run_helm(helm, *args)
        assert result.returncode == 0, result.stderr
        return [doc for doc in yaml.safe_load_all(result.stdout) if doc]

    return _render


def by_kind(objects: Objects, kind: str) -> list[dict[str, Any]]:
    return [obj for obj in objects if obj["kind"] == kind]


def one(objects: Objects, kind: str) -> dict[str, Any]:
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


APP = ["python", "-m", "app"]


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
