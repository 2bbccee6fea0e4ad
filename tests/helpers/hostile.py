"""Clients that behave as attackers and overloaded clusters do: shared by the app and image tests.

Every helper talks raw HTTP/1.1 over loopback sockets, bounded in bytes and
time, so a test can send what well-behaved clients never would (a 48 MiB
header, half a request line, 43,000 bad values) and read exactly what came back.
"""

from __future__ import annotations

import http.client
import json
import resource
import socket
import time
from contextlib import suppress

from bench.measure import overload

BODY_LIMIT = 262_144  # the service's default CELSIUSIFY_MAX_BODY_BYTES


def error_bomb_bodies() -> dict[str, bytes]:
    """Bodies within the size limit that once cost megabytes of error answer each."""
    bodies = overload.error_bomb_bodies()
    assert all(len(body) <= BODY_LIMIT for body in bodies.values())
    return bodies


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Status, lower-cased headers and body of one response on the socket."""
    response = http.client.HTTPResponse(sock)
    response.begin()
    headers = {name.lower(): value for name, value in response.getheaders()}
    return response.status, headers, response.read()


def request(
    port: int, head: bytes, body: bytes = b"", timeout: float = 15
) -> tuple[int, dict[str, str], bytes]:
    """Send a raw head (ending in a blank line) and body on a new connection; one response."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head + body)
        return read_response(sock)


def post_head(port: int, length: int, path: str = "/convert") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def post(port: int, body: bytes, path: str = "/convert") -> tuple[int, dict[str, str], bytes]:
    return request(port, post_head(port, len(body), path), body)


def get(port: int, target: str, timeout: float = 15) -> tuple[int, dict[str, str], bytes]:
    head = f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    return request(port, head, timeout=timeout)


def open_slow_request(port: int, values: list[float]) -> tuple[socket.socket, bytes]:
    """Send headers and half the body; the server now has this request in flight."""
    body = json.dumps({"fahrenheit": values}).encode()
    sock = socket.create_connection(("127.0.0.1", port), timeout=15)
    sock.sendall(post_head(port, len(body)) + body[: len(body) // 2])
    return sock, body[len(body) // 2 :]


def send_huge_header(port: int, size: int) -> tuple[int | None, bool]:
    """Stream one header of `size` bytes; the status the server answered, and whether it closed.

    Stops sending as soon as the server answers or closes (a server without a
    limit would buffer all of it).
    """
    chunk = b"a" * 65_536
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(b"GET /convert?fahrenheit=1 HTTP/1.1\r\nHost: x\r\nX-Big: ")
        sent = 0
        with suppress(OSError):  # the server closing mid-send is the expected outcome
            while sent < size:
                sock.sendall(chunk)
                sent += len(chunk)
            sock.sendall(b"\r\n\r\n")
        data = b""
        closed = False
        try:
            while len(data) < 65_536:
                part = sock.recv(65_536)
                if not part:
                    closed = True
                    break
                data += part
        except ConnectionResetError:
            closed = True
        except TimeoutError:
            pass
        status = int(data[9:12]) if data.startswith(b"HTTP/1.1 ") else None
        return status, closed


def idle_connections(port: int, count: int) -> list[socket.socket]:
    """Open `count` connections in three idle shapes: nothing, half a request line, half headers."""
    shapes = [b"", b"GET /conv", b"GET /convert?fahrenheit=1 HTTP/1.1\r\nHost: x\r\nX-Slow: "]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < count + 1024:
        wanted = count + 1024 if hard == resource.RLIM_INFINITY else min(count + 1024, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    sockets = []
    for index in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        shape = shapes[index % len(shapes)]
        if shape:
            with suppress(OSError):  # past the server's limit it may already have closed it
                sock.sendall(shape)
        sockets.append(sock)
    return sockets


def closed_by_server(sock: socket.socket, within: float) -> bool:
    """True when the server closes the socket within `within` seconds (EOF or reset)."""
    sock.settimeout(within)
    deadline = time.monotonic() + within
    try:
        while time.monotonic() < deadline:
            if not sock.recv(65_536):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False
    return False


class KeepAliveClient:
    """One keep-alive connection that reads answers in order and never honours `Connection: close`.

    It goes on sending as a client that ignores the header would, so a test sees
    whether the server closes the connection by itself.
    """

    def __init__(self, port: int, timeout: float = 10) -> None:
        self.request = f"GET /convert?fahrenheit=212 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n"
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buffer = b""

    def send(self, count: int = 1) -> None:
        """`count` GET /convert requests in one write (pipelined); a closed socket is ignored."""
        with suppress(OSError):
            self.sock.sendall(self.request.encode() * count)

    def _receive(self) -> bool:
        try:
            data = self.sock.recv(65_536)
        except (ConnectionResetError, BrokenPipeError):
            return False
        self.buffer += data
        return bool(data)

    def answer(self) -> dict[str, str] | None:
        """The next answer's lower-cased headers (with its status as ":status"); None once the
        server has closed the connection."""
        while b"\r\n\r\n" not in self.buffer:
            if not self._receive():
                return None
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {":status": status_line.split()[1]}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            if not self._receive():
                return None
        self.buffer = self.buffer[length:]
        return headers

    def exchange(self) -> dict[str, str] | None:
        """One request, then its answer (None: the server had closed the connection)."""
        self.send()
        return self.answer()

    def closed_by_server(self, within: float) -> bool:
        """True when the server closes the connection within `within` seconds, sending nothing
        more first."""
        if self.buffer:
            return False
        self.sock.settimeout(within)
        try:
            return not self._receive()
        except TimeoutError:
            return False

    def close(self) -> None:
        self.sock.close()


rss_bytes = overload.rss_bytes
