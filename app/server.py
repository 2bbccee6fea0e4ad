"""`python -m app`: one uvicorn process with a readiness drain on SIGTERM.

On SIGTERM the process flips /readyz to 503 at once, keeps serving for
--shutdown-delay seconds so load balancers notice (every response in that time
says `Connection: close`, so keep-alive clients reconnect elsewhere), then lets
uvicorn stop accepting connections and finish in-flight requests (bounded by
--timeout-graceful-shutdown), and exits 0. Plain uvicorn re-raises SIGTERM
after its shutdown, which makes the exit status 143 instead.

The HTTP protocol is uvicorn's httptools one with the limits of
app/protocol.py (head size, time limits, connections, load shedding,
connection lifetime).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import resource
import signal
import socket
import sys
import threading
from collections.abc import Sequence
from types import FrameType

import uvicorn
from fastapi import FastAPI
from pydantic import ValidationError

from app.accept import BurstAcceptor
from app.logs import configure_logging
from app.main import create_app
from app.metrics import REQUEST_STATS
from app.protocol import Governor, ServerLimits, ShedApp, protocol_class
from app.runtime import Runtime
from app.settings import Settings

logger = logging.getLogger("celsiusify")


class DrainingServer(uvicorn.Server):
    """uvicorn.Server whose SIGTERM first drains readiness, then shuts down."""

    def __init__(
        self,
        config: uvicorn.Config,
        runtime: Runtime,
        shutdown_delay: float,
        governor: Governor | None = None,
    ) -> None:
        super().__init__(config)
        self.runtime = runtime
        self.shutdown_delay = shutdown_delay
        self.governor = governor
        self._draining = False
        self._acceptors: list[BurstAcceptor] = []

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """uvicorn's start-up, plus a burst acceptor on each listening socket (app/accept.py)."""
        await super().startup(sockets)
        state = self.lifespan.state
        if self.governor is not None:
            # The lifespan has run (uvicorn 0.54's Server.startup awaits lifespan.startup()
            # first, uvicorn/server.py:116): the protocol counts into the app's stats.
            self.governor.stats = state.get(REQUEST_STATS)
        if self.should_exit or not getattr(self, "servers", None):
            return
        config = self.config

        def protocol_factory() -> asyncio.Protocol:
            # The same arguments uvicorn 0.54's Server.startup gives its create_protocol
            # (uvicorn/server.py:122-129).
            return config.http_protocol_class(  # type: ignore[call-arg]
                config=config, server_state=self.server_state, app_state=state
            )

        loop = asyncio.get_running_loop()
        self._acceptors = [
            BurstAcceptor(loop, listener, protocol_factory)
            for server in self.servers
            for listener in server.sockets or ()
        ]

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Stop the burst acceptors first, then uvicorn's shutdown (listener, drain)."""
        for acceptor in getattr(self, "_acceptors", ()):
            acceptor.close()
        await super().shutdown(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:  # noqa: ARG002
        if self.governor is not None:
            self.governor.draining = True
        if sig == signal.SIGTERM and not self._draining and self.shutdown_delay > 0:
            self._draining = True
            self.runtime.ready = False
            logger.info("shutdown begun", extra={"drain_seconds": self.shutdown_delay})
            timer = threading.Timer(self.shutdown_delay, self._stop)
            timer.daemon = True
            timer.start()
            return
        # Deliberately not recorded in _captured_signals as uvicorn 0.54's own
        # Server.handle_exit does (uvicorn/server.py:352): its capture_signals
        # re-raises each captured signal after shutdown (:348-349), and the process
        # would die by the signal (exit 143) instead of exiting 0.
        self.runtime.ready = False
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True
        self._stop()

    def _stop(self) -> None:
        self.should_exit = True


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Server-process options; application options come from CELSIUSIFY_* variables."""
    parser = argparse.ArgumentParser(prog="python -m app", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default %(default)s)")
    parser.add_argument("--port", type=int, default=8080, help="port to bind (default %(default)s)")
    parser.add_argument(
        "--proxy-headers",
        action="store_true",
        help="trust X-Forwarded-For/-Proto from --forwarded-allow-ips",
    )
    parser.add_argument(
        "--forwarded-allow-ips",
        default="127.0.0.1",
        help="comma-separated proxy addresses to trust, or '*' (default %(default)s)",
    )
    parser.add_argument(
        "--shutdown-delay",
        type=float,
        default=2.0,
        help="seconds /readyz answers 503 before the listener closes (default %(default)s)",
    )
    parser.add_argument(
        "--timeout-graceful-shutdown",
        type=int,
        default=5,
        help="seconds in-flight requests get to finish after that (default %(default)s)",
    )
    return parser.parse_args(argv)


# Descriptors the process needs besides client connections (listener, logs, loop).
_RESERVED_FDS = 64


def connection_budget(wanted: int) -> int:
    """Raise the soft open-files limit for `wanted` connections; what fits under the hard one.

    Containers often start with a soft limit of 1024 (and a hard one far higher):
    without this, accept() fails at the limit and probes fail with it.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = wanted + _RESERVED_FDS
    if hard != resource.RLIM_INFINITY:
        needed = min(needed, hard)
    if soft != resource.RLIM_INFINITY and soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
        soft = needed
    budget = wanted if soft == resource.RLIM_INFINITY else min(wanted, soft - _RESERVED_FDS)
    if budget < wanted:
        logger.warning(
            "open-files limit lowers max_connections",
            extra={"max_connections": budget, "wanted": wanted, "hard_limit": hard},
        )
    return max(budget, 1)


def limits_from(settings: Settings) -> ServerLimits:
    """The protocol limits of app/protocol.py from the CELSIUSIFY_* settings."""
    return ServerLimits(
        max_header_bytes=settings.max_header_bytes,
        header_timeout=settings.header_timeout_seconds,
        body_timeout=settings.body_timeout_seconds,
        keep_alive_timeout=settings.keep_alive_timeout_seconds,
        max_connections=connection_budget(settings.max_connections),
        max_in_flight=settings.max_requests_in_flight,
        max_requests_per_connection=settings.max_requests_per_connection,
        max_connection_age=settings.max_connection_age_seconds,
        max_connection_age_jitter=settings.max_connection_age_jitter,
    )


def build_server(args: argparse.Namespace, application: FastAPI | None = None) -> DrainingServer:
    """A configured server around the app (a new one unless given)."""
    settings = Settings()
    configure_logging(settings.log_level, settings.access_log)
    application = application or create_app(settings)
    runtime: Runtime = application.state.runtime
    governor = Governor(limits_from(settings))
    # Static route paths name the route template of a shed request in the metrics.
    templates = {
        path: path
        for route in application.router.routes
        if "{" not in (path := getattr(route, "path", "{"))
    }
    config = uvicorn.Config(
        application,
        host=args.host,
        port=args.port,
        loop="uvloop",
        http=protocol_class(governor, ShedApp(governor, templates)),
        lifespan="on",
        proxy_headers=args.proxy_headers,
        forwarded_allow_ips=args.forwarded_allow_ips,
        timeout_graceful_shutdown=args.timeout_graceful_shutdown or None,
        access_log=settings.access_log,
        log_config=None,
        server_header=False,
        workers=1,
    )
    return DrainingServer(config, runtime, args.shutdown_delay, governor)


def settings_problems(error: ValidationError) -> list[str]:
    """One line per invalid CELSIUSIFY_* variable: its name, the value given, the rule."""
    lines = []
    for problem in error.errors():
        field = ".".join(str(part) for part in problem["loc"])
        if not field:  # a rule across settings
            lines.append(f"celsiusify: invalid settings: {problem['msg']}")
            continue
        given = problem.get("input")
        shown = f"={given!r}" if isinstance(given, str) else ""
        lines.append(
            f"celsiusify: invalid setting CELSIUSIFY_{field.upper()}{shown} ({field}): "
            f"{problem['msg']}"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Run until a signal; 0 after a clean shutdown, 2 on an invalid setting, 3 if start-up
    failed."""
    args = parse_args(argv)
    try:
        server = build_server(args)
    except ValidationError as error:  # the environment's settings, not a bug: no traceback
        for line in settings_problems(error):
            print(line, file=sys.stderr)
        return 2
    server.run()
    return 0 if server.started else 3
