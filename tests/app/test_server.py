"""Real uvicorn processes on loopback: HTTP, identifiers, graceful shutdown."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable

import pytest

from tests.helpers import hostile
from tests.helpers.server import ServerProcess

pytestmark = pytest.mark.server


def get_json(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_real_http(start_server: Callable[..., ServerProcess]) -> None:
    server = start_server()
    status, body = get_json(server.base + "/convert?fahrenheit=212")
    assert status == 200
    assert body["celsius"] == "100.000000"
    status, body = get_json(server.base + "/convert?fahrenheit=nope")
    assert status == 422
    request = urllib.request.Request(
        server.base + "/convert",
        data=json.dumps({"fahrenheit": [212, 32]}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert json.loads(response.read())["celsius"] == ["100.000000", "0.000000"]
    assert server.stop() == 0


def test_two_processes_have_different_identifiers(
    start_server: Callable[..., ServerProcess],
) -> None:
    first, second = start_server(), start_server()
    ids = {get_json(s.base + "/convert?fahrenheit=1")[1]["app_identifier"] for s in (first, second)}
    assert len(ids) == 2


def test_identifier_override_from_environment(start_server: Callable[..., ServerProcess]) -> None:
    server = start_server(env={"CELSIUSIFY_APP_IDENTIFIER": "replica-a"})
    assert get_json(server.base + "/convert?fahrenheit=1")[1]["app_identifier"] == "replica-a"


def _read_response(sock: socket.socket) -> tuple[int, dict[str, object]]:
    status, _, body = hostile.read_response(sock)
    return status, json.loads(body)


def test_sigterm_drains_in_flight_requests_and_exits_zero(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server("--shutdown-delay", "1.0", "--timeout-graceful-shutdown", "10")
    in_flight = [hostile.open_slow_request(server.port, [212.0, float(i)]) for i in range(5)]
    time.sleep(0.2)  # let the server read the headers of every slow request

    # Fast clients keep sending while the drain runs; none may see an error answer.
    stop_fast = threading.Event()
    fast_statuses: list[int] = []

    def fast_client() -> None:
        while not stop_fast.is_set():
            try:
                status, _ = get_json(server.base + "/convert?fahrenheit=98.6")
                fast_statuses.append(status)
            except OSError:
                return  # listener closed after the drain: a refused connection, not an error

    threads = [threading.Thread(target=fast_client) for _ in range(3)]
    for thread in threads:
        thread.start()
    time.sleep(0.2)
    server.process.send_signal(signal.SIGTERM)

    readiness: list[int] = []
    deadline = time.monotonic() + 0.8
    while time.monotonic() < deadline:
        readiness.append(get_json(server.base + "/readyz")[0])
        time.sleep(0.05)
    assert 503 in readiness, readiness
    assert get_json(server.base + "/healthz")[0] == 200  # still alive while draining

    time.sleep(0.7)  # past the drain: the listener is closed, slow requests still open
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
    answers = []
    for sock, rest in in_flight:
        sock.sendall(rest)
        answers.append(_read_response(sock))
        sock.close()
    stop_fast.set()
    for thread in threads:
        thread.join(timeout=10)

    assert [status for status, _ in answers] == [200] * 5
    assert [body["celsius"] for _, body in answers] == [
        ["100.000000", f"{(i - 32) * 5 / 9:.6f}"] for i in range(5)
    ]
    assert fast_statuses
    assert set(fast_statuses) == {200}
    assert server.process.wait(timeout=15) == 0
    log = server.output()
    assert "shutdown begun" in log
    assert "Traceback" not in log


def test_probes_are_not_logged_even_with_access_log(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server(env={"CELSIUSIFY_ACCESS_LOG": "true"})
    for _ in range(3):
        get_json(server.base + "/healthz")
        get_json(server.base + "/readyz")
    get_json(server.base + "/convert?fahrenheit=5")
    assert server.stop() == 0
    lines = [json.loads(line) for line in server.output().splitlines() if line.startswith("{")]
    access = [line["msg"] for line in lines if line["logger"] == "uvicorn.access"]
    assert any("/convert" in message for message in access)
    assert not any("/healthz" in m or "/readyz" in m for m in access)


def test_no_access_log_by_default(start_server: Callable[..., ServerProcess]) -> None:
    server = start_server()
    for _ in range(3):
        get_json(server.base + "/convert?fahrenheit=5")
    assert server.stop() == 0
    lines = [json.loads(line) for line in server.output().splitlines() if line.startswith("{")]
    assert lines, "structured log lines expected"
    assert not [line for line in lines if line["logger"] == "uvicorn.access"]


def test_an_invalid_setting_is_one_line_per_variable_not_a_traceback() -> None:
    """What `kubectl logs --previous` shows for a CrashLoopBackOff from a bad value."""
    env = {**os.environ, "CELSIUSIFY_MAX_BODY_BYTES": "10", "CELSIUSIFY_MAX_CONNECTIONS": "many"}
    result = subprocess.run(
        [sys.executable, "-m", "app", "--host", "127.0.0.1", "--port", "0"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "celsiusify: invalid setting CELSIUSIFY_MAX_BODY_BYTES='10' (max_body_bytes): "
        "Input should be greater than or equal to 1024",
        "celsiusify: invalid setting CELSIUSIFY_MAX_CONNECTIONS='many' (max_connections): "
        "Input should be a valid integer, unable to parse string as an integer",
    ]
