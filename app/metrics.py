"""The metrics model: request counts and latencies as plain numbers, and the registry.

Recorded by app/middleware.py (requests), the route handlers (conversions) and
app/protocol.py (connections closed by a limit, requests shed). Labels are
bounded: the route *template* (never the raw path or query), one of the known
HTTP methods, and the status code.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from itertools import accumulate

from prometheus_client import CollectorRegistry, Gauge, PlatformCollector, ProcessCollector
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from app import __version__

UNMATCHED_ROUTE = "<unmatched>"
# The lifespan state's entry holding this process's RequestStats, None with metrics off.
REQUEST_STATS = "request_stats"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
)


class _Histogram:  # pylint: disable=too-few-public-methods
    """Non-cumulative bucket counts (last = +Inf) and the sum of observations."""

    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(LATENCY_BUCKETS) + 1)
        self.total = 0.0


class RequestStats:
    """Request counts and latency histograms kept as plain numbers.

    prometheus_client's Counter and Histogram take a lock on every update; all
    updates here happen on the event loop's thread, so plain ints suffice and
    the families are built only when /metrics is scraped (a custom collector).
    """

    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, int], int] = {}
        # (route, method) -> per-bucket counts (last = +Inf) and the sum.
        self.latency: dict[tuple[str, str], _Histogram] = {}
        self.conversions = 0
        # Connections the server closed because of a limit, by reason (app/protocol.py).
        self.closed: dict[str, int] = {}
        self.open_connections = 0

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        """Record one finished request."""
        if method not in KNOWN_METHODS:
            method = "OTHER"
        key = (route, method, status)
        requests = self.requests
        requests[key] = requests.get(key, 0) + 1
        histogram = self.latency.get((route, method))
        if histogram is None:
            histogram = self.latency[(route, method)] = _Histogram()
        histogram.counts[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        histogram.total += seconds

    def collect(self) -> Iterator[Metric]:
        """Build the metric families at scrape time."""
        requests = CounterMetricFamily(
            "celsiusify_http_requests",
            "HTTP requests by route template, method and status code.",
            labels=["route", "method", "status"],
        )
        for (route, method, status), count in sorted(self.requests.items()):
            requests.add_metric([route, method, str(status)], count)
        yield requests
        latency = HistogramMetricFamily(
            "celsiusify_http_request_duration_seconds",
            "Time from request start to the end of the response, by route template.",
            labels=["route", "method"],
        )
        bounds = [*(repr(bound) for bound in LATENCY_BUCKETS), "+Inf"]
        for key, histogram in sorted(self.latency.items()):
            cumulative = accumulate(histogram.counts)
            latency.add_metric(
                list(key), list(zip(bounds, cumulative, strict=True)), histogram.total
            )
        yield latency
        yield CounterMetricFamily(
            "celsiusify_conversions",
            "Fahrenheit values converted (one per value in a batch).",
            value=self.conversions,
        )
        closed = CounterMetricFamily(
            "celsiusify_connections_closed",
            "Connections closed by a server limit: header_too_large, header_timeout, "
            "body_timeout, idle_timeout (nothing sent), connection_limit, evicted_idle, "
            "head_budget; max_requests and max_age (a connection's share served: routine).",
            labels=["reason"],
        )
        for reason, count in sorted(self.closed.items()):
            closed.add_metric([reason], count)
        yield closed
        yield GaugeMetricFamily(
            "celsiusify_open_connections",
            "Open client connections (sampled once a second).",
            value=self.open_connections,
        )


class Metrics:  # pylint: disable=too-few-public-methods
    """One registry per application instance, so tests can build many apps."""

    def __init__(self, app_identifier: str, stats: RequestStats) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self.stats = stats
        self.registry.register(stats)
        Gauge(
            "celsiusify_build_info",
            "Always 1; labels carry the version and this process's identifier.",
            ["version", "app_identifier"],
            registry=self.registry,
        ).labels(__version__, app_identifier).set(1)
