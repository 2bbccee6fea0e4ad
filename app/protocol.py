"""uvicorn's httptools protocol with the limits a server facing clients needs.

uvicorn 0.54's `HttpToolsProtocol` has no limit on the size of a request's head
(httptools buffers a header value until its line ends), no time limit on
receiving the head or the body, no bound on open connections, and its
`limit_concurrency` counts connections as well as requests, so probes are
refused with everything else. This subclass adds, per connection:

- **Head size**: bytes received while a request's line and headers are incomplete
  are counted *before* they reach the parser; past `max_header_bytes` the client
  gets 431 and the connection is closed. A connection never buffers more than
  twice the limit (one chunk can end one head and begin the next).
- **Time limits**: the head must arrive within `header_timeout` of its first byte
  (or of the connection opening), the body within `body_timeout` of the head;
  otherwise 408 and close. Idle keep-alive connections close after
  `keep_alive_timeout`. One sweep per second checks every connection against a
  clock it refreshes itself (as nginx caches its time), so the request path
  arms no timer at all: it stores the current coarse time in one attribute.
- **Connections**: at `max_connections` open connections, a new one takes the
  place of an idle one (waiting for its next request, or silent since it
  opened), which is closed, as nginx reuses idle keep-alive connections; when
  none is idle, the new one gets a 503 and is closed before any
  per-connection state is built.
- **Load shedding**: when `max_in_flight` requests are already with the
  application (head received, response not complete), a new request is
  answered 503 with `Retry-After` straight from the protocol, without a task or
  the application; `/healthz` and `/readyz` are never shed, so probes stay
  fast. (uvicorn's own task set is no measure of this: a finished task leaves
  it one loop iteration later, so a burst would shed nearly everything.)
- **Draining**: once the governor says so (SIGTERM), every response carries
  `Connection: close`, so keep-alive clients reconnect elsewhere before the
  listener closes.
- **Connection lifetime**: kube-proxy picks a pod per connection, and keep-alive
  clients (Locust, connection pools) never reconnect on their own, so pods added
  by a scale-out would get none of their traffic. A connection's answer to its
  `max_requests_per_connection`-th request, or to its first request once it is
  older than `max_connection_age`, carries `Connection: close` (as the drain's
  do) and the server closes it after that answer, whether or not the client
  listens: nginx's keepalive_requests and keepalive_time, Envoy's
  max_requests_per_connection and max_connection_duration. The age is read off
  the sweep's clock, so it holds to within a second, and each connection draws
  its own within ± `max_connection_age_jitter` when it opens: clients that
  connected together (a load test's ramp, a pool's warm-up) would otherwise all
  reconnect in the same second, every time. The request count needs no jitter:
  clients' rates differ, so their counts drift apart by themselves. An idle
  connection past its age is left to the keep-alive timeout: closing it would
  race a request the client may be sending at that moment. The request path
  pays a decrement and two compares.

The costs are bounded by configuration: memory by `max_connections` × ~7 KB
(measured per idle connection) plus the heads being received, at most
`max_header_bytes` per connection (twice that when one chunk ends one head and
begins the next) and `HEAD_BUDGET_FACTOR × max_header_bytes` (16 MiB) over all
of them; time per connection by the two timeouts; queued work by
`max_in_flight` plus one request per open connection.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.metrics import UNMATCHED_ROUTE

if TYPE_CHECKING:
    from starlette.types import Receive, Scope, Send
    from uvicorn.config import Config
    from uvicorn.server import ServerState

    from app.metrics import RequestStats

logger = logging.getLogger("celsiusify")

# Phases of a connection, for the sweep. Plain ints: compared on every request.
_HEAD = 0  # waiting for (the rest of) a request line and headers
_BODY = 1  # head complete, body still arriving
_BUSY = 2  # whole request received, the application is answering
_IDLE = 3  # response sent, keep-alive: waiting for the next request

_NEVER_SHED = frozenset({b"/healthz", b"/readyz"})
# All partial request heads together may hold this many times max_header_bytes
# (16 MiB at the default): past it, new head bytes get 503 and a close.
HEAD_BUDGET_FACTOR = 1024


def _raw_response(status: str, body: dict[str, Any], *, retry_after: bool = False) -> bytes:
    payload = json.dumps(body, separators=(",", ":")).encode()
    head = [
        f"HTTP/1.1 {status}",
        "content-type: application/json",
        f"content-length: {len(payload)}",
        "connection: close",
    ]
    if retry_after:
        head.append("retry-after: 1")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + payload


def _detail(field_name: str, msg: str, error_type: str) -> dict[str, Any]:
    return {"detail": [{"field": field_name, "loc": [field_name], "msg": msg, "type": error_type}]}


@dataclass(frozen=True)
class ServerLimits:  # pylint: disable=too-many-instance-attributes
    """What one server process allows a client; see app/settings.py for the defaults."""

    max_header_bytes: int
    header_timeout: float
    body_timeout: float
    keep_alive_timeout: float
    max_connections: int
    max_in_flight: int
    max_requests_per_connection: int  # 0: no bound
    max_connection_age: float  # 0: no bound
    max_connection_age_jitter: float


@dataclass
class Governor:  # pylint: disable=too-many-instance-attributes
    """State shared by every connection of one server: clock, drain flag, counters."""

    limits: ServerLimits
    # Where closes, sheds and open connections are counted: the lifespan state's
    # RequestStats, set by the server after start-up (None: metrics off).
    stats: RequestStats | None = None
    draining: bool = False
    # Bytes of request heads received and not yet complete, over all connections.
    pending_head_bytes: int = 0
    # Connections whose request the application is answering (not yet complete).
    in_flight: int = 0
    head_budget: int = 0
    now: float = 0.0
    closed: dict[str, int] = field(default_factory=dict)
    _sweeping: bool = False
    _last_warning: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Partial heads held at once, all connections together.
        self.head_budget = HEAD_BUDGET_FACTOR * self.limits.max_header_bytes

    def count_close(self, reason: str, *, routine: bool = False) -> None:
        """Count a connection the server closed because of a limit; warn at most every 10 s.

        A routine close (a connection that served its share of requests or time) is
        the configuration working as meant, not a client misbehaving: counted only.
        """
        self.closed[reason] = self.closed.get(reason, 0) + 1
        stats = self.stats
        if stats is not None:
            stats.closed[reason] = stats.closed.get(reason, 0) + 1
        if routine:
            return
        if self.now - self._last_warning.get(reason, -1e9) >= 10.0:
            self._last_warning[reason] = self.now
            logger.warning(
                "connection closed by a limit",
                extra={"reason": reason, "count": self.closed[reason]},
            )

    def start_sweeping(self, loop: asyncio.AbstractEventLoop, connections: set[Any]) -> None:
        """Once per server: refresh the clock and check deadlines every second."""
        if self._sweeping:
            return
        self._sweeping = True
        self.now = loop.time()

        def tick() -> None:
            self.now = loop.time()
            for connection in list(connections):
                if isinstance(connection, GuardedHttpToolsProtocol):
                    connection.check_deadline(self.now)
            if self.stats is not None:
                self.stats.open_connections = len(connections)
            loop.call_later(1.0, tick)

        loop.call_later(1.0, tick)


class ShedApp:  # pylint: disable=too-few-public-methods
    """The answer to a request over the in-flight limit: 503, Retry-After, counted.

    Usually written straight to the socket from the protocol (`raw`), with no
    task and no ASGI call, so that shedding costs a fraction of serving; as an
    ASGI app only for a pipelined request that must wait for the one before it.
    """

    def __init__(self, governor: Governor, route_templates: dict[str, str]) -> None:
        self.governor = governor
        self.route_templates = route_templates
        detail = _detail("request", "server is at its concurrency limit; retry", "overloaded")
        self.body = json.dumps(detail, separators=(",", ":")).encode()
        self.headers = [
            (b"content-type", b"application/json"),
            (b"retry-after", b"1"),
            (b"content-length", str(len(self.body)).encode()),
        ]
        head = b"HTTP/1.1 503 Service Unavailable\r\n" + b"".join(
            name + b": " + value + b"\r\n" for name, value in self.headers
        )
        self.raw_keep_alive = head + b"\r\n" + self.body
        self.raw_close = head + b"connection: close\r\n\r\n" + self.body

    def record(self, path: str, method: str) -> None:
        """Count the 503 under the route it was sent to."""
        stats = self.governor.stats
        if stats is not None:
            route = self.route_templates.get(path, UNMATCHED_ROUTE)
            stats.observe(route, method, 503, 0.0)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # noqa: ARG002
        await send({"type": "http.response.start", "status": 503, "headers": self.headers})
        await send({"type": "http.response.body", "body": self.body})
        self.record(scope["path"], scope["method"])


class _NoEvent:  # pylint: disable=too-few-public-methods
    """An event no one waits on."""

    @staticmethod
    def set() -> None:
        """Nothing to wake."""


class _Answered:  # pylint: disable=too-few-public-methods
    """Stands in for uvicorn's RequestResponseCycle of a request answered by the protocol.

    uvicorn's callbacks (on_body, connection_lost, shutdown) only ask whether
    the response is complete and set its message event.
    """

    response_complete = True
    keep_alive = True
    disconnected = False
    more_body = False
    message_event = _NoEvent()


class GuardedHttpToolsProtocol(HttpToolsProtocol):  # pylint: disable=too-many-instance-attributes
    """HttpToolsProtocol plus the limits in the module docstring.

    Subclassed per server by `protocol_class()`, which sets the class
    attributes; uvicorn builds one instance per connection.
    """

    governor: ClassVar[Governor]
    shed_app: ClassVar[ShedApp]

    _TOO_LARGE: ClassVar[bytes]
    _TIMEOUT: ClassVar[bytes] = _raw_response(
        "408 Request Timeout",
        _detail("request", "request not received in time", "request_timeout"),
    )
    _BUSY_CONNECTIONS: ClassVar[bytes] = _raw_response(
        "503 Service Unavailable",
        _detail("request", "server is at its connection limit; retry", "overloaded"),
        retry_after=True,
    )

    def __init__(self, config: Config, server_state: ServerState, *args: Any, **kwargs: Any):
        super().__init__(config, server_state, *args, **kwargs)
        self._phase = _HEAD
        self._since = 0.0
        self._head_bytes = 0
        self._refused = False
        self._counted = False  # this connection's request counts in governor.in_flight
        limits = self.governor.limits
        self._max_head = limits.max_header_bytes
        self._max_in_flight = limits.max_in_flight
        # Counts down to 0 at the connection's last request; from 0 (no bound) it
        # goes negative and never meets 0, so the request path needs no other test.
        self._requests_left = limits.max_requests_per_connection
        # From this governor time on, a request is the connection's last (set when it opens).
        self._close_at = math.inf
        self._last_request = False

    # -- connection -----------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        governor = self.governor
        if len(self.connections) >= governor.limits.max_connections and not self._evict_idle():
            self._refused = True
            self.transport = transport
            transport.write(self._BUSY_CONNECTIONS)
            transport.close()
            governor.count_close("connection_limit")
            return
        super().connection_made(transport)
        governor.start_sweeping(self.loop, self.connections)
        self._phase = _HEAD
        self._since = governor.now
        limits = governor.limits
        if limits.max_connection_age > 0:
            jitter = limits.max_connection_age_jitter
            age = limits.max_connection_age * random.uniform(1 - jitter, 1 + jitter)  # noqa: S311
            self._close_at = governor.now + age

    def _evict_idle(self) -> bool:
        """At the connection limit, close one idle connection to make room (as nginx
        reuses its idle keep-alive connections): one waiting for its next request,
        or one that has sent nothing. False when every connection is busy."""
        for connection in self.connections:
            if isinstance(connection, GuardedHttpToolsProtocol) and connection.is_idle():
                connection.transport.close()
                self.connections.discard(connection)
                self.governor.count_close("evicted_idle")
                return True
        return False

    def is_idle(self) -> bool:
        """Open, and waiting for a next request or silent since it opened."""
        return not self.transport.is_closing() and (
            self._phase == _IDLE or (self._phase == _HEAD and self._head_bytes == 0)
        )

    def connection_lost(self, exc: Exception | None) -> None:
        if self._refused:
            return
        self.governor.pending_head_bytes -= self._head_bytes
        self._head_bytes = 0
        if self._counted:
            self._counted = False
            self.governor.in_flight -= 1
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        # Head bytes (of this request or a pipelined next one) are counted before
        # the parser sees them, per connection and across all of them; body bytes
        # are bounded by the app's body limit.
        if self._phase != _BODY:
            size = len(data)
            governor = self.governor
            if (
                self._head_bytes + size > self._max_head
                or governor.pending_head_bytes + size > governor.head_budget
            ):
                self._feed_head_slices(data)
                return
            self._head_bytes += size
            governor.pending_head_bytes += size
        # uvicorn 0.54 HttpToolsProtocol.data_received, minus its keep-alive timer
        # cancel (no timer is armed: the sweep closes idle connections).
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            msg = "Invalid HTTP request received."
            self.logger.warning(msg)
            self.send_400_response(msg)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()

    def _feed_head_slices(self, data: bytes) -> None:
        """Feed at most the remaining head budget at a time; 431 once it is spent."""
        offset = 0
        while offset < len(data):
            if self.transport.is_closing():
                return
            if self._phase == _BODY:
                HttpToolsProtocol.data_received(self, data[offset:])
                return
            governor = self.governor
            budget = self._max_head - self._head_bytes
            if budget <= 0:
                self._close_with(self._TOO_LARGE, "header_too_large")
                return
            if governor.pending_head_bytes + min(budget, len(data) - offset) > governor.head_budget:
                # Every connection's partial head together: memory stays bounded
                # even when thousands of clients each send almost the limit.
                self._close_with(self._BUSY_CONNECTIONS, "head_budget")
                return
            chunk = data[offset : offset + budget]
            offset += len(chunk)
            self._head_bytes += len(chunk)
            governor.pending_head_bytes += len(chunk)
            HttpToolsProtocol.data_received(self, chunk)

    # -- parser callbacks -------------------------------------------------------------
    def on_message_begin(self) -> None:
        # uvicorn 0.54 HttpToolsProtocol.on_message_begin, inlined (one call less
        # per request), plus the head clock.
        self.url = b""  # pylint: disable=attribute-defined-outside-init
        self.expect_100_continue = False
        self.headers = []
        self.scope = {  # type: ignore[typeddict-item]
            "type": "http",
            "asgi": {"version": self.asgi_version, "spec_version": "2.3"},
            "http_version": "1.1",
            "server": self.server,
            "client": self.client,
            "scheme": self.scheme,  # type: ignore[typeddict-item]
            "root_path": self.root_path,
            "headers": self.headers,
            "state": self.app_state.copy(),
        }
        if self._phase != _HEAD:  # a new request on a kept-alive connection
            self._phase = _HEAD
            self._since = self.governor.now

    def on_headers_complete(self) -> None:
        governor = self.governor
        governor.pending_head_bytes -= self._head_bytes
        self._head_bytes = 0
        self._phase = _BODY
        self._since = governor.now
        self._requests_left -= 1
        if self._requests_left == 0 or governor.now >= self._close_at:
            self._retire()
        if governor.in_flight >= self._max_in_flight and (
            self.url.partition(b"?")[0] not in _NEVER_SHED
        ):
            self._shed()
            return
        super().on_headers_complete()
        if not self._counted:
            self._counted = True
            governor.in_flight += 1
        if (governor.draining or self._last_request) and self.cycle is not None:
            # uvicorn then writes `connection: close` and closes after the response.
            self.cycle.keep_alive = False

    def _retire(self) -> None:
        """Make this request the connection's last, counted once by its bound.

        During the drain every connection closes anyway: not counted as a bound's.
        """
        self._close_at = math.inf  # requests pipelined behind it stay on the fast path
        if self._last_request:
            return
        self._last_request = True
        if not self.governor.draining:
            reason = "max_requests" if self._requests_left == 0 else "max_age"
            self.governor.count_close(reason, routine=True)

    def _shed(self) -> None:
        """503 + Retry-After for a request over the in-flight limit, without the app."""
        shed = self.shed_app
        last = self.governor.draining or self._last_request
        if self.cycle is not None and not self.cycle.response_complete:
            # Pipelined behind a request still being answered: the 503 must wait its
            # turn, so it goes through uvicorn as an ASGI app. uvicorn 0.54
            # on_headers_complete() starts `self.app` for the request.
            application = self.app
            self.app = shed
            super().on_headers_complete()
            self.app = application
            if last:
                self.cycle.keep_alive = False
            return
        self.cycle = _Answered()  # type: ignore[assignment]
        keep_alive = self.parser.should_keep_alive() and not last
        # Written from the ready queue, not here: an answer written during the I/O
        # phase lets the client's next request arrive while libuv is still polling,
        # and libuv keeps polling (up to 48 rounds of 1024 events) before it runs
        # any task: measured, that starved accepted requests and probes for seconds.
        self.loop.call_soon(
            self._write_answer, shed.raw_keep_alive if keep_alive else shed.raw_close, keep_alive
        )
        path = self.url.partition(b"?")[0].decode("latin-1")
        shed.record(path, self.parser.get_method().decode())

    def _write_answer(self, answer: bytes, keep_alive: bool) -> None:
        if self.transport.is_closing():
            return
        self.transport.write(answer)
        if not keep_alive:
            self.transport.close()

    def on_message_complete(self) -> None:
        # uvicorn 0.54 HttpToolsProtocol.on_message_complete, inlined.
        cycle = self.cycle
        if cycle.response_complete:  # answered before the body ended (413, 503)
            self._phase = _IDLE
            self._since = self.governor.now
            return
        self._phase = _BUSY
        if self.parser.should_upgrade() and self._should_upgrade():
            return
        cycle.more_body = False  # pylint: disable=attribute-defined-outside-init
        cycle.message_event.set()

    def on_response_complete(self) -> None:
        # uvicorn 0.54's HttpToolsProtocol.on_response_complete, minus the keep-alive
        # TimerHandle it arms for every response: the sweep closes idle connections.
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
            return
        if self._counted:
            self._counted = False
            self.governor.in_flight -= 1
        if self._phase == _BUSY:
            self._phase = _IDLE
            self._since = self.governor.now

    # -- deadlines ----------------------------------------------------------------------
    def check_deadline(self, now: float) -> None:
        """Called by the sweep once a second: close a connection past its time."""
        if self.transport is None or self.transport.is_closing():
            return
        limits = self.governor.limits
        elapsed = now - self._since
        if self._phase == _HEAD and elapsed > limits.header_timeout:
            if self._head_bytes:
                self._close_with(self._TIMEOUT, "header_timeout")
            else:  # nothing sent at all: nothing to answer
                self.transport.close()
                self.governor.count_close("idle_timeout")
        elif self._phase == _BODY and elapsed > limits.body_timeout:
            if self.cycle is not None and not self.cycle.response_started:
                self.cycle.disconnected = True
                self.cycle.message_event.set()
                self._close_with(self._TIMEOUT, "body_timeout")
            else:
                self.transport.close()
                self.governor.count_close("body_timeout")
        elif self._phase == _IDLE and elapsed > limits.keep_alive_timeout:
            self.transport.close()

    def _close_with(self, response: bytes, reason: str) -> None:
        self.transport.write(response)
        self.transport.close()
        self.governor.count_close(reason)


def protocol_class(governor: Governor, shed_app: ShedApp) -> type[GuardedHttpToolsProtocol]:
    """A protocol class bound to one server's governor (uvicorn takes a class)."""
    too_large = _raw_response(
        "431 Request Header Fields Too Large",
        _detail(
            "headers",
            f"request line and headers are larger than {governor.limits.max_header_bytes} bytes",
            "header_too_large",
        ),
    )
    return type(
        "CelsiusifyHttpProtocol",
        (GuardedHttpToolsProtocol,),
        {"governor": governor, "shed_app": shed_app, "_TOO_LARGE": too_large},
    )
