"""A stand-in for TensorFlow Serving's REST API serving the Celsiusify model; stdlib only.

Why: TF Serving cannot be installed here (no registry carries its image or a package of it),
yet the code that talks to it (Locust's TF Serving user and its checks, the chart's probes, the
e2e run) needs a server that answers as it does. This one answers the requests the project
sends, in TF Serving's documented formats (tensorflow_serving/g3doc/api_rest.md, 2.18):

    GET  /v1/models/<model>[/versions/<n>]            model status
    POST /v1/models/<model>[/versions/<n>]:predict    row ("instances") or columnar ("inputs")
    GET  /monitoring/prometheus/metrics               request counts (the chart's liveness path)

It is not TF Serving: no gRPC (--port is accepted, nothing listens there), no classify or
regress, no batching, one model at version 1 whatever --model_base_path holds. Every answer
carries `X-Celsiusify-Standin: tfserving`; the bodies keep TF Serving's schemas exactly (a
client parsing the status into GetModelStatusResponse with a strict JSON parser would refuse
an extra field), so the header is the only label.

The model: celsius = (fahrenheit - 32) * 5 / 9 on the input as a float32 (the signature's
dtype), computed in double precision and rounded to float32 as the SavedModel's output is;
printed as the shortest decimal that reads back as that float32 (TF Serving prints float32 with
up to 9 significant digits; both parse to the same float32). Inputs: one float per instance,
shaped [1] (the signature's [None, 1]), as a row `[f]` or the named input `{"fahrenheit": [f]}`.

Errors are TF Serving's body, {"error": "<message>"}, with its status codes: 400 for a malformed
request or body, 404 for an unknown model or version.

Flags: tensorflow_model_server's, as `--name=value`. The ones tfserving/Dockerfile and
tfserving/values.yaml pass are declared (and, but for the REST port and model name, ignored);
other `--name=value` flags are accepted with a note, as the real server has many more.
`--standin_rest_api_host` (this stand-in's only own flag) binds another address than 0.0.0.0,
TF Serving's. SIGTERM or SIGINT closes the listener and exits 0.

    python tests/standins/tfserving.py --rest_api_port=8501 --model_name=celsiusify \
        --model_base_path=/models/celsiusify
"""

from __future__ import annotations

import argparse
import json
import math
import re
import signal
import struct
import sys
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any, ClassVar

STANDIN_HEADER = ("X-Celsiusify-Standin", "tfserving")
VERSION = "1"
INPUT_NAME = "fahrenheit"
SIGNATURE = "serving_default"
METRICS_PATH = "/monitoring/prometheus/metrics"
# TF Serving's routes: the path prefix is matched case-insensitively, the names exactly.
PREDICT = re.compile(r"(?i)/v1/models/([^/:]+)(?:/versions/(\d+))?:(classify|regress|predict)")
STATUS = re.compile(r"(?i)/v1/models(?:/([^/:]+))?(?:/versions/(\d+))?")
# The flags the project passes (tfserving/Dockerfile's ENTRYPOINT and CMD, tfserving/values.yaml).
DECLARED_FLAGS = (
    "port", "rest_api_num_threads", "tensorflow_intra_op_parallelism",
    "tensorflow_inter_op_parallelism", "enable_batching", "batching_parameters_file",
    "monitoring_config_file", "file_system_poll_wait_seconds",
)  # fmt: skip


class RequestError(Exception):
    """An answer other than 200: its HTTP status and TF Serving's error message."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def bad_request(message: str) -> RequestError:
    """A 400 answer."""
    return RequestError(HTTPStatus.BAD_REQUEST, message)


# --- the model -------------------------------------------------------------------------------


def float32(value: float) -> float:
    """value rounded to the nearest float32 (±inf beyond its range)."""
    try:
        rounded: float = struct.unpack("f", struct.pack("f", value))[0]
    except OverflowError:
        return math.copysign(math.inf, value)
    return rounded


def celsius(fahrenheit: float) -> float:
    """The model's answer: the formula on the float32 input, rounded to a float32 output."""
    return float32((float32(fahrenheit) - 32.0) * 5.0 / 9.0)


def float32_text(value: float) -> str:
    """The shortest decimal that reads back as the same float32, always with a point or exponent."""
    if not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    for digits in range(6, 10):
        text = f"{value:.{digits}g}"
        if float32(float(text)) == value:
            break
    return text if any(mark in text for mark in ".en") else f"{text}.0"


def one_value(row: object, where: str) -> float:
    """The float of one instance shaped [1]: `[f]` or `{"fahrenheit": [f]}`."""
    if isinstance(row, dict):
        if set(row) != {INPUT_NAME}:
            raise bad_request(f"{where}: expected the one input '{INPUT_NAME}', got {sorted(row)}")
        row = row[INPUT_NAME]
    if not (isinstance(row, list) and len(row) == 1):
        raise bad_request(f"{where}: expected shape [1] (input '{INPUT_NAME}' is [-1,1]), "
                          f"got {json.dumps(row)[:80]}")  # fmt: skip
    value = row[0]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise bad_request(f"{where}: expected a number for DT_FLOAT, got {json.dumps(value)[:80]}")
    return float(value)


def predictions(body: bytes) -> tuple[str, list[float]]:
    """The response key ("predictions" or "outputs") and the answers for a :predict body."""
    try:
        request = json.loads(body or b"")
    except ValueError as error:  # json.JSONDecodeError, UnicodeDecodeError
        raise bad_request(f"JSON Parse error: {error}") from error
    if not isinstance(request, dict):
        raise bad_request("JSON Value is not an object")
    signature = request.get("signature_name", SIGNATURE)
    if signature != SIGNATURE:
        raise bad_request(f'Serving signature name: "{signature}" not found in signature def')
    if "instances" in request and "inputs" in request:
        raise bad_request(
            "Not formatted correctly expecting only one of 'inputs' or 'instances' keys to exist"
        )
    if "instances" in request:
        key, rows = "predictions", request["instances"]
    elif "inputs" in request:
        key, rows = "outputs", request["inputs"]
        if isinstance(rows, dict) and set(rows) == {INPUT_NAME}:
            rows = rows[INPUT_NAME]
    else:
        raise bad_request("Missing 'inputs' or 'instances' key")
    name = "instances" if key == "predictions" else "inputs"
    if not isinstance(rows, list) or not rows:
        raise bad_request(f"'{name}' must be a non-empty list of rows")
    return key, [celsius(one_value(row, f"{name}[{index}]")) for index, row in enumerate(rows)]


def predict_body(key: str, values: Sequence[float]) -> bytes:
    """{"predictions": [[c], …]} (or "outputs"), each c printed as a float32."""
    rows = ", ".join(f"[{float32_text(value)}]" for value in values)
    return f'{{"{key}": [{rows}]}}'.encode()


def status_body() -> bytes:
    """GetModelStatusResponse of the one version, as TF Serving prints it."""
    status = {"version": VERSION, "state": "AVAILABLE",
              "status": {"error_code": "OK", "error_message": ""}}  # fmt: skip
    return json.dumps({"model_version_status": [status]}, indent=1).encode()


# --- HTTP ------------------------------------------------------------------------------------


# (method, body) -> (status, payload, content type); raises RequestError for the others.
Route = Callable[[str, bytes], tuple[HTTPStatus, bytes, str]]


class Handler(BaseHTTPRequestHandler):
    """Routes as TF Serving's REST handler does; every answer labelled as the stand-in's."""

    protocol_version = "HTTP/1.1"  # keep-alive, as Locust's FastHttpUser expects
    server_version = "tfserving-standin"
    model_name = "celsiusify"
    counts: ClassVar[Counter[str]] = Counter()
    counts_lock: ClassVar[threading.Lock] = threading.Lock()

    def log_message(self, format: str, *args: Any) -> None:
        """Silent, like TF Serving: a line per request would cost more than the answer."""

    # do_GET and the like: the names BaseHTTPRequestHandler dispatches to.
    # pylint: disable=invalid-name
    def do_GET(self) -> None:
        """Status, metrics."""
        self.answer("GET", self.route_get)

    def do_POST(self) -> None:
        """:predict."""
        self.answer("POST", self.route_post)

    def do_PUT(self) -> None:
        """Never routed."""
        self.answer("PUT", self.malformed)

    def do_DELETE(self) -> None:
        """Never routed."""
        self.answer("DELETE", self.malformed)

    # pylint: enable=invalid-name

    def answer(self, method: str, route: Route) -> None:
        """Read the body, route, and answer with the stand-in's header."""
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        content_type = "application/json"
        try:
            status, payload, content_type = route(method, body)
        except RequestError as error:
            status = error.status
            payload = json.dumps({"error": error.message}).encode()
        with self.counts_lock:
            self.counts[f"{method} {status.value}"] += 1
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header(*STANDIN_HEADER)
        self.end_headers()
        self.wfile.write(payload)

    def malformed(self, method: str, _body: bytes) -> tuple[HTTPStatus, bytes, str]:
        """TF Serving's answer to a request it cannot route."""
        # TF Serving's REST handler owns /v1/ (400 for what it cannot route); other paths
        # are not found at all.
        v1 = self.path.lower().startswith("/v1/")
        status = HTTPStatus.BAD_REQUEST if v1 else HTTPStatus.NOT_FOUND
        raise RequestError(status, f"Malformed request: {method} {self.path}")

    def route_get(self, method: str, body: bytes) -> tuple[HTTPStatus, bytes, str]:
        """Metrics, or the model's status."""
        if self.path == METRICS_PATH:
            return HTTPStatus.OK, self.metrics(), "text/plain; version=0.0.4"
        match = STATUS.fullmatch(self.path)
        if not match:
            return self.malformed(method, body)
        name, version = match.groups()
        if not name:
            raise RequestError(HTTPStatus.BAD_REQUEST, "Missing model name in request.")
        if name != self.model_name:
            raise RequestError(HTTPStatus.NOT_FOUND, f"Could not find any versions of model {name}")
        if version is not None and version != VERSION:
            raise RequestError(
                HTTPStatus.NOT_FOUND, f"Could not find version {version} of model {name}"
            )
        return HTTPStatus.OK, status_body(), "application/json"

    def route_post(self, method: str, body: bytes) -> tuple[HTTPStatus, bytes, str]:
        """The model's predictions."""
        match = PREDICT.fullmatch(self.path)
        if not match:
            return self.malformed(method, body)
        name, version, verb = match.groups()
        if name != self.model_name or (version is not None and version != VERSION):
            spec = f"Specific({name}, {version})" if version is not None else f"Latest({name})"
            raise RequestError(HTTPStatus.NOT_FOUND, f"Servable not found for request: {spec}")
        if verb != "predict":
            raise bad_request(f"the tfserving stand-in answers :predict only, not :{verb}")
        key, values = predictions(body)
        return HTTPStatus.OK, predict_body(key, values), "application/json"

    def metrics(self) -> bytes:
        """Prometheus text: requests by method and status."""
        with self.counts_lock:
            counts = sorted(self.counts.items())
        lines = ["# TYPE :tensorflow:serving:request_count counter"]
        lines += [f':tensorflow:serving:request_count{{model_name="{self.model_name}",'
                  f'request="{key}"}} {count}' for key, count in counts]  # fmt: skip
        return ("\n".join(lines) + "\n").encode()


# --- command line ----------------------------------------------------------------------------


def parse_flags(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    """tensorflow_model_server's flags: (the declared ones, the other `--name=value` ones)."""
    parser = argparse.ArgumentParser(
        prog="tfserving.py", allow_abbrev=False,
        description="A stand-in for TensorFlow Serving's REST API (tests only).",
    )  # fmt: skip
    parser.add_argument(
        "--rest_api_port", type=int, default=0,
        help="REST port (0, TF Serving's default, disables REST: refused here)",
    )  # fmt: skip
    parser.add_argument("--model_name", default="default")
    parser.add_argument("--model_base_path", default="", help="accepted; version 1 is served")
    parser.add_argument(
        "--standin_rest_api_host", default="0.0.0.0",  # noqa: S104 (TF Serving binds all)
        help="address to bind (the stand-in's own flag)",
    )  # fmt: skip
    for flag in DECLARED_FLAGS:
        parser.add_argument(f"--{flag}", help="accepted and ignored")
    flags, rest = parser.parse_known_args(list(argv))
    ignored = [arg for arg in rest if re.fullmatch(r"--\w+=.*", arg)]
    if unknown := [arg for arg in rest if arg not in ignored]:
        parser.error(f"unrecognized arguments: {' '.join(unknown)} (flags are --name=value)")
    if flags.rest_api_port <= 0:
        parser.error("--rest_api_port must be a port: the stand-in serves REST only")
    return flags, ignored


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until SIGTERM or SIGINT; 0 then."""
    flags, ignored = parse_flags(sys.argv[1:] if argv is None else argv)
    Handler.model_name = flags.model_name
    server = ThreadingHTTPServer((flags.standin_rest_api_host, flags.rest_api_port), Handler)
    server.daemon_threads = True  # open keep-alive connections do not hold the exit

    def stop(signum: int, _frame: FrameType | None) -> None:
        print(f"tfserving stand-in: {signal.Signals(signum).name}, stopping", file=sys.stderr)
        # shutdown() waits for serve_forever(), which runs in this (the main) thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    note = f" (ignored: {' '.join(ignored)})" if ignored else ""
    address = f"{flags.standin_rest_api_host}:{flags.rest_api_port}"
    print(f"tfserving stand-in: REST on {address}, model {flags.model_name} version {VERSION}"
          f"{note}", file=sys.stderr, flush=True)  # fmt: skip
    with server:
        server.serve_forever(poll_interval=0.2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
