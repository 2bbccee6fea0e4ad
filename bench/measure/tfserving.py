"""TF Serving as a benchmark target: check a URL is TF Serving with the model, or start the
project's image with Docker in the run's CPU allotment, or say in one line why it cannot run.

A URL is TF Serving with the model when GET /v1/models/<model> answers 200 with a version
AVAILABLE (TF Serving's GetModelStatus). The project's stand-in (tests/standins/tfserving.py,
and its image) answers the same, with every answer carrying the header STANDIN_HEADER: a run
against it is labelled a stand-in and its figures never go into a verdict.

The image: targets/tfserving.json names it (image_name, tagged :dev as `make tf-image` builds
it); when it is absent and its base (tfserving/Dockerfile's ARG) is present it is built here.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from shutil import which
from urllib.parse import urlsplit

import targets
from bench.measure.allotment import docker_cpu_args
from bench.measure.hold import KUBERNETES_PERIOD_US, docker
from bench.measure.procs import free_port

# tests/standins/tfserving.py labels every answer with this header (value "tfserving").
STANDIN_HEADER = "X-Celsiusify-Standin"
TARGET = targets.get("tfserving")
IMAGE = f"{TARGET.image_name}:dev"
READY_TIMEOUT = 120.0


class NotTfServing(ValueError):
    """The URL does not answer as TF Serving with the model loaded; the message says why."""


@dataclass(frozen=True)
class Probe:
    """What a TF Serving URL answered."""

    url: str
    standin: bool
    versions: tuple[str, ...]


def probe(url: str, model: str | None = None, timeout: float = 5.0) -> Probe:
    """GET <url>/v1/models/<model>; NotTfServing in one line unless a version is AVAILABLE."""
    model = model or TARGET.model or "celsiusify"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NotTfServing(f"{url!r} is not an http(s) URL")
    status_url = f"{url.rstrip('/')}/v1/models/{model}"
    request = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
        status_url, headers={"Accept": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body, headers = response.read(), response.headers
    except urllib.error.HTTPError as error:
        text = " ".join(error.read()[:200].decode("utf-8", "replace").split())[:80]
        raise NotTfServing(
            f"{url} answers GET /v1/models/{model} with HTTP {error.code} ({text or 'no body'}): "
            f"not TF Serving with model {model} loaded"
        ) from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise NotTfServing(f"cannot reach {url} ({reason})") from None
    try:
        status = json.loads(body)
        states = {
            str(item["version"]): str(item["state"]) for item in status["model_version_status"]
        }
    except (ValueError, KeyError, TypeError):
        raise NotTfServing(
            f"{url} answers GET /v1/models/{model} with no model_version_status: not TF Serving"
        ) from None
    available = tuple(version for version, state in states.items() if state == "AVAILABLE")
    if not available:
        raise NotTfServing(f"{url}: model {model} has no version AVAILABLE ({states or 'none'})")
    return Probe(url.rstrip("/"), headers.get(STANDIN_HEADER) is not None, available)


# --- Docker ----------------------------------------------------------------------------------


def base_image() -> str:
    """The base image tfserving/Dockerfile builds on (its `ARG …_IMAGE=` default)."""
    text = (targets.ROOT / TARGET.dockerfile).read_text(encoding="utf-8")
    match = re.search(r"^ARG \w+_IMAGE=(\S+)", text, re.MULTILINE) or re.search(
        r"^FROM (\S+)", text, re.MULTILINE
    )
    return match.group(1) if match else "tensorflow/serving"


def _present(image: str) -> bool:
    return docker("image", "inspect", image, timeout=30).returncode == 0


def docker_plan(image: str = IMAGE) -> tuple[bool, str]:
    """(True, "") when the image is present; (True, why) when it must be built from its base
    first; (False, why) when TF Serving cannot be started here: no Docker, no image, no base."""
    if which("docker") is None:
        return False, "no Docker client (docker is not on PATH)"
    try:
        info = docker("info", "--format", "{{.ServerVersion}}", timeout=20)
    except (OSError, TimeoutError) as error:
        return False, f"no Docker engine ({error})"
    if info.returncode != 0:
        line = (info.stderr.strip().splitlines() or ["docker info failed"])[-1]
        return False, f"no Docker engine ({line})"
    if _present(image):
        return True, ""
    base = base_image()
    if image == IMAGE and _present(base):
        return True, f"building {image} from {base} (make tf-image)"
    return False, (f"no image {image} and no base {base} on this Docker engine "
                   "(make tf-image builds it where the base can be pulled)")  # fmt: skip


def build_image(image: str = IMAGE) -> str | None:
    """`make tf-image`'s build; None on success, else one line saying why not."""
    result = docker(
        "build", "--network", "host", "-t", image, "-f", str(targets.ROOT / TARGET.dockerfile),
        str(targets.ROOT / TARGET.context), timeout=1800,
    )  # fmt: skip
    if result.returncode == 0:
        return None
    return f"building {image} failed: " + (result.stderr.strip().splitlines() or ["?"])[-1]


def _command(image: str, rest_port: int, grpc_port: int) -> list[str]:
    """The image's CMD with its ports moved to free ones (the container shares the host's
    network, where 8500/8501 may be taken)."""
    result = docker("image", "inspect", "--format", "{{json .Config.Cmd}}", image, timeout=30)
    command = json.loads(result.stdout or "null") or []
    moved = [arg for arg in command if not arg.startswith(("--rest_api_port=", "--port="))]
    return [f"--port={grpc_port}", f"--rest_api_port={rest_port}", *moved]


@contextlib.contextmanager
def container(
    image: str, cpus: float, period_us: int, cores: list[int] | None
) -> Iterator[tuple[str, str]]:
    """Run the image in the allotment (--cpus, or --cpu-period/--cpu-quota, pinned to the
    server's cores); yield (its URL, its name) once the model is AVAILABLE; remove it after.
    RuntimeError in one line when it does not start or never gets ready."""
    port, name = free_port(), f"celsiusify-bench-tfserving-{os.getpid()}"
    period = None if period_us == KUBERNETES_PERIOD_US else period_us
    pinning = ["--cpuset-cpus", ",".join(map(str, cores))] if cores else []
    started = docker(
        "run", "-d", "--rm", "--name", name, "--network", "host", *docker_cpu_args(cpus, period),
        *pinning, image, *_command(image, port, free_port()), timeout=120,
    )  # fmt: skip
    if started.returncode != 0:
        line = (started.stderr.strip().splitlines() or ["failed"])[-1]
        raise RuntimeError(f"docker run {image} failed: {line}")
    url = f"http://127.0.0.1:{port}"
    try:
        deadline, problem = time.monotonic() + READY_TIMEOUT, "not started"
        while time.monotonic() < deadline:
            try:
                probe(url, timeout=2)
                break
            except NotTfServing as error:
                problem = str(error)
                time.sleep(0.5)
        else:
            raise RuntimeError(f"{image} was not ready in {READY_TIMEOUT:.0f} s: {problem}")
        yield url, name
    finally:
        docker("rm", "-f", name, timeout=60)
