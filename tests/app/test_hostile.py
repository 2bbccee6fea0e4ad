"""A real `python -m app` process tried as hostile clients and overloaded clusters try it.

One test per way a client once could hurt a pod (issue: "one request, one header
or one idle socket must not take a pod down"), each with its bound: status,
answer size, connection closed, memory growth, metrics labels. Time limits are
shortened through the CELSIUSIFY_* settings so the tests wait seconds, not
minutes; nothing here measures speed (`make overload` does).
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import time
from collections.abc import Callable

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import hostile
from tests.helpers.server import ServerProcess

pytestmark = pytest.mark.server

SHORT_TIMEOUTS = {
    "CELSIUSIFY_HEADER_TIMEOUT_SECONDS": "1",
    "CELSIUSIFY_BODY_TIMEOUT_SECONDS": "1",
    "CELSIUSIFY_KEEP_ALIVE_TIMEOUT_SECONDS": "1",
}


def samples(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics, keyed by name and sorted labels."""
    status, _, body = hostile.get(port, "/metrics")
    assert status == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def requests_with(port: int, **labels: str) -> float:
    """Sum of celsiusify_http_requests_total over samples carrying these labels."""
    return sum(
        value
        for (name, sample_labels), value in samples(port).items()
        if name == "celsiusify_http_requests_total"
        and labels.items() <= dict(sample_labels).items()
    )


def closed_by_limit(port: int, reason: str) -> float:
    return samples(port).get(("celsiusify_connections_closed_total", (("reason", reason),)), 0.0)


@pytest.mark.parametrize("name", list(hostile.error_bomb_bodies()))
def test_error_bomb_body_gets_a_small_422(
    start_server: Callable[..., ServerProcess], name: str
) -> None:
    """Once: a 258 KB body of bad values → a 6 MB answer and an OOM-killed pod."""
    server = start_server()
    body = hostile.error_bomb_bodies()[name]
    rss_before = hostile.rss_bytes(server.process.pid)
    for _ in range(5):
        status, _, answer = hostile.post(server.port, body)
        assert status == 422
        assert len(answer) < 4096, len(answer)
        # At most ten per kind of problem, one "N more" line each, one missing field.
        assert len(json.loads(answer)["detail"]) <= 12
    assert hostile.rss_bytes(server.process.pid) - rss_before < 32 * 2**20


def test_a_batch_of_bad_values_lists_ten_and_counts_the_rest(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server()
    body = json.dumps({"fahrenheit": [-500] * 1000}).encode()
    status, _, answer = hostile.post(server.port, body)
    assert status == 422
    detail = json.loads(answer)["detail"]
    assert [error["field"] for error in detail[:10]] == [f"fahrenheit[{i}]" for i in range(10)]
    assert detail[10]["type"] == "too_many_errors"
    assert "990 more" in detail[10]["msg"]
    assert len(answer) < 4096


def test_huge_header_gets_431_and_memory_stays_bounded(
    start_server: Callable[..., ServerProcess],
) -> None:
    """Once: a 48 MiB header was buffered whole (and OOM-killed the container)."""
    server = start_server()
    rss_before = hostile.rss_bytes(server.process.pid)
    status, closed = hostile.send_huge_header(server.port, 48 * 2**20)
    assert status == 431
    assert closed
    assert hostile.rss_bytes(server.process.pid) - rss_before < 8 * 2**20
    assert hostile.get(server.port, "/healthz")[0] == 200
    assert closed_by_limit(server.port, "header_too_large") == 1


def test_headers_just_under_the_limit_are_served(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server(env={"CELSIUSIFY_MAX_HEADER_BYTES": "4096"})
    head = b"GET /convert?fahrenheit=212 HTTP/1.1\r\nHost: x\r\nX-Pad: "
    padded = head + b"p" * (4096 - len(head) - 4) + b"\r\n\r\n"
    assert len(padded) == 4096
    status, _, answer = hostile.request(server.port, padded)
    assert status == 200
    assert json.loads(answer)["celsius"] == "100.000000"
    over = head + b"p" * (4097 - len(head) - 4) + b"\r\n\r\n"
    assert hostile.request(server.port, over)[0] == 431


def test_idle_and_half_sent_connections_are_closed(
    start_server: Callable[..., ServerProcess],
) -> None:
    """Once: connections that sent nothing or half a request stayed open for good."""
    server = start_server(env=SHORT_TIMEOUTS)
    sockets = hostile.idle_connections(server.port, 30)
    try:
        assert all(hostile.closed_by_server(sock, within=5) for sock in sockets)
    finally:
        for sock in sockets:
            sock.close()
    assert closed_by_limit(server.port, "idle_timeout") == 10  # sent nothing: closed silently
    assert closed_by_limit(server.port, "header_timeout") == 20  # half sent: 408, closed


def test_half_sent_request_gets_408(start_server: Callable[..., ServerProcess]) -> None:
    server = start_server(env=SHORT_TIMEOUTS)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"GET /convert?fahrenheit=1 HTTP/1.1\r\nHost: x\r\n")
        status, headers, _ = hostile.read_response(sock)
        assert status == 408
        assert headers["connection"] == "close"


def test_slow_body_gets_408_and_is_not_a_server_error(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server(env=SHORT_TIMEOUTS)
    sock, _ = hostile.open_slow_request(server.port, [1.0] * 50)
    with sock:
        status, _, _ = hostile.read_response(sock)
    assert status == 408
    assert closed_by_limit(server.port, "body_timeout") == 1
    assert requests_with(server.port, status="500") == 0
    assert server.stop() == 0
    assert "Traceback" not in server.output()


def test_idle_connection_flood_keeps_memory_bounded_and_probes_answering(
    start_server: Callable[..., ServerProcess],
) -> None:
    """Once: 15,411 idle sockets OOM-killed the container."""
    server = start_server()
    rss_before = hostile.rss_bytes(server.process.pid)
    sockets = hostile.idle_connections(server.port, 3000)
    try:
        time.sleep(0.5)
        assert hostile.get(server.port, "/healthz", timeout=5)[0] == 200
        grown = hostile.rss_bytes(server.process.pid) - rss_before
        print(f"\n3000 idle connections: RSS +{grown / 2**20:.1f} MiB ({grown / 3000:.0f} B each)")
        assert grown < 3000 * 16 * 1024
    finally:
        for sock in sockets:
            sock.close()


def _half_sent(port: int, count: int) -> list[socket.socket]:
    """Connections each holding half a request head: busy, not idle."""
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(b"GET /convert?fahrenheit=1 HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        sockets.append(sock)
    return sockets


def test_connections_past_the_limit_get_503_and_close(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server(env={**SHORT_TIMEOUTS, "CELSIUSIFY_MAX_CONNECTIONS": "40"})
    sockets = _half_sent(server.port, 40)
    try:
        time.sleep(0.2)
        status, headers, _ = hostile.get(server.port, "/convert?fahrenheit=1")
        assert status == 503
        assert headers["connection"] == "close"
        assert headers["retry-after"] == "1"
    finally:
        for sock in sockets:
            sock.close()
    time.sleep(0.3)
    assert hostile.get(server.port, "/convert?fahrenheit=1")[0] == 200
    assert closed_by_limit(server.port, "connection_limit") == 1


def test_at_the_limit_an_idle_connection_makes_room(
    start_server: Callable[..., ServerProcess],
) -> None:
    """Silent or kept-alive connections cannot lock probes out: the oldest idle one goes."""
    server = start_server(env={"CELSIUSIFY_MAX_CONNECTIONS": "40"})
    silent = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(40)]
    try:
        time.sleep(0.2)
        assert hostile.get(server.port, "/readyz")[0] == 200
        assert sum(hostile.closed_by_server(sock, within=0.5) for sock in silent) >= 1
    finally:
        for sock in silent:
            sock.close()
    assert closed_by_limit(server.port, "evicted_idle") >= 1
    assert closed_by_limit(server.port, "connection_limit") == 0


async def _burst_clients(port: int, connections: int, seconds: float) -> dict[str, int]:
    """`connections` keep-alive clients sending GET /convert in lock-step bursts."""
    counts: dict[str, int] = {}
    streams = [await asyncio.open_connection("127.0.0.1", port) for _ in range(connections)]
    request = f"GET /convert?fahrenheit=98.6 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()

    async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        await reader.readexactly(length)
        status = head[9:12].decode()
        if status == "503":
            assert b"retry-after: 1" in head.lower()
        counts[status] = counts.get(status, 0) + 1

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await asyncio.gather(*(exchange(reader, writer) for reader, writer in streams))
    for _, writer in streams:
        writer.close()
    return counts


def test_overload_is_shed_with_503_while_probes_answer(
    start_server: Callable[..., ServerProcess],
) -> None:
    """Once: no 503 ever; queues grew until probes timed out and pods left the Service."""
    server = start_server(env={"CELSIUSIFY_MAX_REQUESTS_IN_FLIGHT": "4"})
    probes: list[int] = []

    async def run() -> dict[str, int]:
        load = asyncio.create_task(_burst_clients(server.port, 200, seconds=3))
        while not load.done():
            status, _, _ = await asyncio.to_thread(hostile.get, server.port, "/readyz", 5)
            probes.append(status)
            await asyncio.sleep(0.2)
        return await load

    counts = asyncio.run(run())
    assert counts.get("503", 0) > 0, counts
    assert counts.get("200", 0) > 0, counts
    assert set(counts) <= {"200", "503"}, counts
    assert probes
    assert set(probes) == {200}
    assert requests_with(server.port, route="/convert", status="503") == counts["503"]


async def _keepalive_client(port: int, stats: dict[str, int]) -> None:
    """Send on one keep-alive connection until the server says Connection: close."""
    request = f"GET /convert?fahrenheit=212 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while True:
            writer.write(request)
            try:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                await reader.readexactly(length)
            except (ConnectionError, asyncio.IncompleteReadError):
                stats["reset"] += 1  # a request in flight on an open connection got no answer
                return
            stats["ok" if head.startswith(b"HTTP/1.1 200") else "failed"] += 1
            if b"connection: close" in head.lower():
                stats["told_to_close"] += 1  # a real client now reconnects to another pod
                return
    finally:
        writer.close()


def test_sigterm_with_256_keepalive_clients_resets_nothing(
    start_server: Callable[..., ServerProcess],
) -> None:
    """Once: every request in flight when the listener closed was reset."""
    server = start_server(
        "--shutdown-delay", "1.5", "--timeout-graceful-shutdown", "5",
        env={"CELSIUSIFY_MAX_REQUESTS_IN_FLIGHT": "100000"},  # the drain alone, no shedding
    )  # fmt: skip
    stats = {"ok": 0, "failed": 0, "reset": 0, "told_to_close": 0}

    async def run() -> None:
        clients = [asyncio.create_task(_keepalive_client(server.port, stats)) for _ in range(256)]
        await asyncio.sleep(0.5)
        server.process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(asyncio.gather(*clients), timeout=20)

    asyncio.run(run())
    assert stats["reset"] == 0, stats
    assert stats["failed"] == 0, stats
    assert stats["told_to_close"] == 256, stats
    assert stats["ok"] > 256
    assert server.process.wait(timeout=15) == 0


def lifetime(requests: int, age: float, jitter: float = 0.0) -> dict[str, str]:
    """The connection-lifetime settings; no jitter unless asked, so bounds are exact."""
    return {
        "CELSIUSIFY_MAX_REQUESTS_PER_CONNECTION": str(requests),
        "CELSIUSIFY_MAX_CONNECTION_AGE_SECONDS": str(age),
        "CELSIUSIFY_MAX_CONNECTION_AGE_JITTER": str(jitter),
    }


def answered(client: hostile.KeepAliveClient, count: int) -> list[dict[str, str]]:
    """`count` requests one after another, each answered 200."""
    answers = []
    for _ in range(count):
        answer = client.exchange()
        assert answer is not None, f"closed after {len(answers)} answers"
        assert answer[":status"] == "200"
        answers.append(answer)
    return answers


def test_the_nth_answer_says_close_and_the_server_closes_the_connection(
    start_server: Callable[..., ServerProcess],
) -> None:
    """Once: keep-alive clients stayed on their pods for good, so kube-proxy gave pods added
    by a scale-out none of their traffic."""
    server = start_server(env=lifetime(requests=5, age=0))
    quiet, ignoring = hostile.KeepAliveClient(server.port), hostile.KeepAliveClient(server.port)
    try:
        for client in (quiet, ignoring):
            answers = answered(client, 5)
            assert [answer.get("connection") for answer in answers] == [None] * 4 + ["close"]
        assert quiet.closed_by_server(within=2)  # the client holds it open: closed anyway
        assert ignoring.exchange() is None  # sends on regardless: no answer, closed
    finally:
        quiet.close()
        ignoring.close()
    assert closed_by_limit(server.port, "max_requests") == 2
    assert closed_by_limit(server.port, "max_age") == 0
    assert server.stop() == 0
    assert "connection closed by a limit" not in server.output()  # routine: counted, not logged


def test_requests_pipelined_past_the_bound_are_left_unanswered(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server(env=lifetime(requests=3, age=0))
    client = hostile.KeepAliveClient(server.port)
    try:
        client.send(5)
        answers = [client.answer() for _ in range(4)]
    finally:
        client.close()
    assert [answer and answer[":status"] for answer in answers] == ["200"] * 3 + [None]
    assert answers[2] is not None
    assert answers[2]["connection"] == "close"
    assert closed_by_limit(server.port, "max_requests") == 1


def test_a_connection_past_its_age_gets_close_on_its_next_answer(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server(env=lifetime(requests=0, age=2))
    start = time.monotonic()
    client = hostile.KeepAliveClient(server.port)
    try:
        answers = answered(client, 1)
        while answers[-1].get("connection") != "close" and time.monotonic() - start < 10:
            time.sleep(0.1)
            answers += answered(client, 1)
        age = time.monotonic() - start
        assert client.closed_by_server(within=2)
    finally:
        client.close()
    assert [answer.get("connection") for answer in answers[:-1]] == [None] * (len(answers) - 1)
    assert answers[-1].get("connection") == "close"
    # Read off the clock the server refreshes once a second: 2 s give or take one.
    assert 1.0 < age < 4.5, age
    assert closed_by_limit(server.port, "max_age") == 1
    assert closed_by_limit(server.port, "max_requests") == 0


async def _age_at_close(port: int, start: float) -> float:
    """Send every 50 ms on one connection; seconds from `start` to the answer saying close."""
    request = f"GET /convert?fahrenheit=212 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.monotonic() - start < 10:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            if b"connection: close" in head.lower():
                return time.monotonic() - start
            await asyncio.sleep(0.05)
        raise AssertionError("no Connection: close within 10 s")
    finally:
        writer.close()


def test_connections_opened_together_reach_their_age_apart(
    start_server: Callable[..., ServerProcess],
) -> None:
    """With one age for all, clients that connected together (a load test's ramp, a pool's
    warm-up) would all reconnect in the same second, every time."""
    server = start_server(env=lifetime(requests=0, age=2, jitter=0.5))

    async def run() -> list[float]:
        start = time.monotonic()
        return list(await asyncio.gather(*(_age_at_close(server.port, start) for _ in range(20))))

    ages = asyncio.run(run())
    assert all(0.0 < age < 5.0 for age in ages), ages  # 1 to 3 s, give or take the clock's second
    assert max(ages) - min(ages) >= 0.5, ages
    assert closed_by_limit(server.port, "max_age") == 20


def test_below_the_default_bounds_connections_stay_open(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server()
    client = hostile.KeepAliveClient(server.port)
    try:
        answers = answered(client, 100)
        assert not client.closed_by_server(within=0.5)
    finally:
        client.close()
    assert all("connection" not in answer for answer in answers)
    assert closed_by_limit(server.port, "max_requests") == 0
    assert closed_by_limit(server.port, "max_age") == 0


def test_zero_turns_both_bounds_off(start_server: Callable[..., ServerProcess]) -> None:
    server = start_server(env=lifetime(requests=0, age=0))
    client = hostile.KeepAliveClient(server.port)
    answers: list[dict[str, str] | None] = []
    try:
        for _ in range(15):  # 1500 requests: past the default bound of 1000
            client.send(100)
            answers += [client.answer() for _ in range(100)]
        time.sleep(2.5)  # older than two ticks of the server's clock
        answers.append(client.exchange())
        assert not client.closed_by_server(within=0.5)
    finally:
        client.close()
    assert len(answers) == 1501
    assert all(answer is not None and answer[":status"] == "200" for answer in answers)
    assert all(answer is not None and "connection" not in answer for answer in answers)
    assert closed_by_limit(server.port, "max_requests") == 0
    assert closed_by_limit(server.port, "max_age") == 0


def test_client_abort_mid_body_is_a_499_not_a_server_error(
    start_server: Callable[..., ServerProcess],
) -> None:
    """Once: a ClientDisconnect traceback in the logs and status="500" in the metrics."""
    server = start_server()
    for _ in range(3):
        sock, _ = hostile.open_slow_request(server.port, [1.0] * 100)
        time.sleep(0.1)
        sock.close()
    time.sleep(0.3)
    assert requests_with(server.port, route="/convert", method="POST", status="499") == 3
    assert requests_with(server.port, status="500") == 0
    assert server.stop() == 0
    log = server.output()
    assert "Traceback" not in log
    assert '"level": "error"' not in log


@pytest.mark.parametrize(
    ("target", "body"),
    [
        ("/convert?fahrenheit=1&fahrenheit=212", None),
        ("/convert", b'{"fahrenheit": [1], "fahrenheit": [212]}'),
    ],
)
def test_ambiguous_input_is_refused(
    start_server: Callable[..., ServerProcess], target: str, body: bytes | None
) -> None:
    """Once: the last value won, so 1 °F could come back as 100 °C."""
    server = start_server()
    if body is None:
        status, _, answer = hostile.get(server.port, target)
    else:
        status, _, answer = hostile.post(server.port, body, target)
    assert status == 422
    (error,) = json.loads(answer)["detail"]
    assert "once" in error["msg"]


def test_413_is_labelled_with_its_route_and_closes(
    start_server: Callable[..., ServerProcess],
) -> None:
    """Once: labelled route="<unmatched>", which is reserved for 404."""
    server = start_server()
    status, headers, _ = hostile.request(server.port, hostile.post_head(server.port, 10**9))
    assert status == 413
    assert headers["connection"] == "close"
    assert requests_with(server.port, route="/convert", status="413") == 1
    assert requests_with(server.port, route="<unmatched>") == 0
