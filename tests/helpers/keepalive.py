"""Keep-alive clients, as Locust's users and most pools behave: each thread holds one connection
for as long as it sends and opens a new one only when the server closes it. Records who answered
(`app_identifier`) per second, so a test sees which pods a Service's clients reach over time.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections import Counter
from urllib.parse import urlsplit


class KeepAliveLoad:
    """`connections` threads sending GET path to url's host:port on persistent connections."""

    def __init__(self, url: str, connections: int = 16, pause: float = 0.0) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.path = parts.path + (f"?{parts.query}" if parts.query else "")
        self.connections, self.pause = connections, pause
        self.started = time.monotonic()
        self.by_second: dict[int, Counter[str]] = {}
        self.errors: Counter[str] = Counter()
        self.reconnects = 0
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [
            threading.Thread(target=self.client, daemon=True) for _ in range(connections)
        ]

    def __enter__(self) -> KeepAliveLoad:
        self.started = time.monotonic()
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=10)

    def client(self) -> None:
        connection: http.client.HTTPConnection | None = None
        while not self.stop.is_set():
            if connection is None:
                connection = http.client.HTTPConnection(self.host, self.port, timeout=5)
            try:
                connection.request("GET", self.path)
                response = connection.getresponse()
                body = response.read()
                identifier = str(json.loads(body)["app_identifier"])
                closing = response.getheader("connection", "").lower() == "close"
                self.record(identifier)
            except (OSError, http.client.HTTPException, ValueError, KeyError) as error:
                with self.lock:
                    self.errors[type(error).__name__] += 1
                closing = True
            if closing:
                connection.close()
                connection = None
                with self.lock:
                    self.reconnects += 1
            if self.pause:
                time.sleep(self.pause)
        if connection is not None:
            connection.close()

    def record(self, identifier: str) -> None:
        second = int(time.monotonic() - self.started)
        with self.lock:
            self.by_second.setdefault(second, Counter())[identifier] += 1

    def now(self) -> float:
        """Seconds since the load started."""
        return time.monotonic() - self.started

    def answers(self, start: float, end: float) -> Counter[str]:
        """Answers per identifier in seconds [start, end)."""
        total: Counter[str] = Counter()
        with self.lock:
            for second, counts in self.by_second.items():
                if start <= second < end:
                    total.update(counts)
        return total
