"""Who answered: right answers counted per `app_identifier`, per interval. Stdlib only.

Every Celsiusify process carries its own identifier so that a load test can watch load spread
across replicas; kube-proxy picks a backend per connection, so whether pods added by a scale-out
get any traffic is visible only here. The users count each right answer's identifier; the
counts are kept per INTERVAL_SECONDS (5 s) interval and written as tidy rows
`time,identifier,answers` (time: the interval's start, Unix seconds, as Locust's stats history).

Bounded whatever the target answers: an identifier longer than MAX_IDENTIFIER_LENGTH (63, a
Kubernetes label value's limit) or past the first MAX_IDENTIFIERS (64) distinct ones is counted
as OTHER, so a misbehaving target can grow neither memory nor the CSV beyond
(MAX_IDENTIFIERS + 1) rows per interval.

Distributed runs (the deliveryhero chart): each worker drains its counts into every report it
sends the master (Locust's report_to_master event, every few seconds) as [time, identifier,
answers] triples, and the master merges them (worker_report) into its own counter, which applies
the same bound, and writes the CSV next to Locust's own (`<csv prefix>_share.csv`).
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Iterable
from pathlib import Path

INTERVAL_SECONDS = 5
MAX_IDENTIFIERS = 64
MAX_IDENTIFIER_LENGTH = 63
OTHER = "other"
COLUMNS = ("time", "identifier", "answers")
# The key of a worker's report that carries its counts.
REPORT_KEY = "celsiusify_share"
# The CSV's name beside Locust's: <prefix>_stats.csv, …, <prefix>_share.csv.
SUFFIX = "_share.csv"

Triple = tuple[int, str, int]


class ShareCounter:
    """Answers per (interval start, identifier), with at most MAX_IDENTIFIERS named identifiers."""

    def __init__(
        self,
        interval: int = INTERVAL_SECONDS,
        max_identifiers: int = MAX_IDENTIFIERS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.interval = interval
        self.max_identifiers = max_identifiers
        self.clock = clock
        self.known: set[str] = set()
        self.counts: dict[tuple[int, str], int] = {}

    def name(self, identifier: str) -> str:
        """The identifier as counted: itself while the bound allows, else OTHER."""
        if identifier in self.known:
            return identifier
        if len(identifier) > MAX_IDENTIFIER_LENGTH or len(self.known) >= self.max_identifiers:
            return OTHER
        self.known.add(identifier)
        return identifier

    def count(self, identifier: str, answers: int = 1) -> None:
        """Count answers from identifier in the current interval."""
        start = int(self.clock() // self.interval * self.interval)
        key = (start, self.name(identifier))
        self.counts[key] = self.counts.get(key, 0) + answers

    def merge(self, triples: Iterable[Iterable[object]]) -> None:
        """Add another counter's drained triples (a worker's report); malformed ones are dropped."""
        for triple in triples:
            try:
                start, identifier, answers = triple
            except (TypeError, ValueError):
                continue
            if not (isinstance(start, int) and isinstance(identifier, str)):
                continue
            if not isinstance(answers, int) or answers <= 0:
                continue
            key = (start, self.name(identifier))
            self.counts[key] = self.counts.get(key, 0) + answers

    def drain(self) -> list[Triple]:
        """Every count as (time, identifier, answers), emptied (a worker sends them on)."""
        triples = self.rows()
        self.counts = {}
        return triples

    def rows(self) -> list[Triple]:
        """Every count as (time, identifier, answers), by time then identifier."""
        return [(start, name, answers) for (start, name), answers in sorted(self.counts.items())]

    def write(self, path: Path) -> None:
        """The whole table as CSV, replaced atomically (the master rewrites it every interval)."""
        partial = path.with_name(path.name + ".partial")
        with partial.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(COLUMNS)
            writer.writerows(self.rows())
        partial.replace(path)


# One counter per Locust process: the users count into it; a worker drains it into its
# reports, a master or a local run merges and writes it.
COUNTER = ShareCounter()
