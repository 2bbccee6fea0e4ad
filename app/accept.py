"""Accept new connections in bursts, beside uvloop's one-per-iteration accept.

libuv (and so uvloop) accepts a single connection per event-loop iteration
since libuv/libuv#3696 ("unix: don't accept() connections in a loop", libuv
1.45). Under overload an iteration lasts tens of milliseconds, so with a few
thousand clients connecting the listen queue drains at a few connections per
second: measured here, 1,300 connections waited in it for minutes, and a
kubelet probe, which opens a new connection each time, waited behind them and
timed out. Python's own asyncio loop accepts up to the backlog per readiness.

This acceptor watches a duplicate of the listening socket's descriptor and
accepts up to `BURST` connections each time it is readable, handing each to
the same protocol factory uvicorn uses (uvloop's `connect_accepted_socket`).
uvloop's own listener keeps working beside it; both take from one queue.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable

logger = logging.getLogger("celsiusify")

BURST = 256


class BurstAcceptor:
    """Accepts up to BURST queued connections per readiness of the listening socket."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        listener: socket.socket,
        protocol_factory: Callable[[], asyncio.Protocol],
    ) -> None:
        self.loop = loop
        self.factory = protocol_factory
        self.sock = socket.socket(
            listener.family, listener.type, listener.proto, fileno=os.dup(listener.fileno())
        )
        self.sock.setblocking(False)
        self.tasks: set[asyncio.Task[object]] = set()
        loop.add_reader(self.sock.fileno(), self.accept_burst)

    def accept_burst(self) -> None:
        """Accept what is queued, up to BURST; the rest waits for the next iteration."""
        for _ in range(BURST):
            try:
                connection, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                return
            except OSError as exc:  # EMFILE and the like: leave them queued, say so
                logger.warning("accept failed", extra={"error": str(exc)})
                return
            connection.setblocking(False)
            if connection.family in (socket.AF_INET, socket.AF_INET6):
                connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            task = self.loop.create_task(
                self.loop.connect_accepted_socket(self.factory, connection)
            )
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    def close(self) -> None:
        """Stop accepting (the listener itself is closed by uvicorn)."""
        self.loop.remove_reader(self.sock.fileno())
        self.sock.close()
