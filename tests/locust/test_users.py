"""The user classes, run by Locust as a library (in a subprocess) against real servers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.helpers.server import ServerProcess

pytestmark = pytest.mark.locust
RUNNER = Path(__file__).with_name("library_run.py")


def run_users(
    host: str, user_class: str, seconds: float = 3, users: int = 4, *options: str
) -> dict[str, object]:
    """Locust's statistics as JSON, plus "log": what the run wrote to stderr."""
    result = subprocess.run(
        [sys.executable, str(RUNNER), host, user_class, str(seconds), str(users), *options],
        env={**os.environ, "LOAD_TARGET": "all"},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    stats: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    stats["log"] = result.stderr
    return stats


@pytest.mark.parametrize(
    ("user_class", "name"),
    [("CelsiusifyGetUser", "GET /convert"), ("CelsiusifyBatchUser", "POST /convert")],
)
def test_users_against_the_real_app_have_zero_failures(
    start_server: Callable[..., ServerProcess], user_class: str, name: str
) -> None:
    server = start_server()
    stats = run_users(server.base, user_class)
    assert stats["requests"] > 50  # type: ignore[operator]
    assert stats["failures"] == 0, stats["errors"]
    assert stats["names"] == [name]  # one stats row per endpoint, not per URL


def test_users_follow_the_servers_connection_close_without_failures(
    start_server: Callable[..., ServerProcess],
) -> None:
    """The server ends keep-alive connections after a few requests or a second here (so
    kube-proxy spreads them over new pods); Locust's users reconnect without a failure."""
    server = start_server(
        env={
            "CELSIUSIFY_MAX_REQUESTS_PER_CONNECTION": "5",
            "CELSIUSIFY_MAX_CONNECTION_AGE_SECONDS": "1",
        }
    )
    stats = run_users(server.base, "CelsiusifyGetUser", 3, 4)
    assert stats["requests"] > 50  # type: ignore[operator]
    assert stats["failures"] == 0, stats["errors"]


def serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


class _Quiet(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def reply(self, payload: dict[str, object]) -> None:
        body = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class WrongAnswers(_Quiet):
    """Looks like Celsiusify, but adds 0.000001 to every answer."""

    def do_GET(self) -> None:
        fahrenheit = float(self.path.split("fahrenheit=")[1])
        celsius = (fahrenheit - 32) * 5 / 9 + 0.000001
        self.reply({"celsius": f"{celsius:.6f}", "app_identifier": "wrong-server"})


def make_tfserving(offset: float) -> type[BaseHTTPRequestHandler]:
    """TF Serving's REST predict, row format, as documented; predictions shifted by offset."""

    class FakeTFServing(_Quiet):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            if self.path != "/v1/models/celsiusify:predict":
                self.send_error(404)
                return
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            rows = request["instances"]
            self.reply({"predictions": [[(row[0] - 32) * 5 / 9 + offset] for row in rows]})

    return FakeTFServing


@pytest.fixture
def http_server() -> Iterator[Callable[[type[BaseHTTPRequestHandler]], str]]:
    servers: list[Iterator[str]] = []

    def start(handler: type[BaseHTTPRequestHandler]) -> str:
        generator = serve(handler)
        servers.append(generator)
        return next(generator)

    yield start
    for generator in servers:
        next(generator, None)


def test_a_wrong_answer_is_a_failure(http_server: Callable[..., str]) -> None:
    stats = run_users(http_server(WrongAnswers), "CelsiusifyGetUser", seconds=2, users=2)
    assert stats["requests"] > 10  # type: ignore[operator]
    assert stats["failures"] == stats["requests"]
    # One failure row whatever the values: not one per wrong value (unbounded rows).
    assert stats["errors"] == ["wrong answer"]
    examples = [line for line in str(stats["log"]).splitlines() if "failure 'wrong answer'" in line]
    assert 1 <= len(examples) <= 3, stats["log"]
    assert " F: " in examples[0]  # the example shows the value and the answers


def test_tfserving_user_against_documented_rest_api(http_server: Callable[..., str]) -> None:
    stats = run_users(http_server(make_tfserving(0.004)), "TFServingUser", seconds=2, users=2)
    assert stats["requests"] > 0  # type: ignore[operator]
    assert stats["failures"] == 0, stats["errors"]
    assert stats["names"] == ["POST :predict"]


def test_tfserving_user_catches_answers_beyond_tolerance(http_server: Callable[..., str]) -> None:
    stats = run_users(http_server(make_tfserving(0.5)), "TFServingUser", seconds=2, users=2)
    assert stats["failures"] == stats["requests"]
    assert stats["errors"] == ["prediction off by more than the tolerance"]
