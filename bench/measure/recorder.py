"""What the kubectl recorders share (the HPA's, bench/measure/hpa.py; the Locust workers' CPU,
bench/measure/loadgen.py): a background thread that polls `kubectl get … -o json` every interval
and appends the rows each poll gives to a CSV, flushed as it goes so a run cut short keeps what
was recorded. kubectl's failures are recorded once each and printed, never raised: a recording
must not end the run it watches.
"""

from __future__ import annotations

import csv
import json
import subprocess
import threading
from abc import abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar


class KubectlRecorder(threading.Thread):
    """Background poller; stop() ends it. `samples` counts the polls that gave rows."""

    # The CSV's columns (bench.results owns each format).
    columns: ClassVar[Sequence[str]]
    # How its messages name it: "bench: <label>: …".
    label: ClassVar[str] = "kubectl"

    def __init__(
        self, path: Path, interval: float = 5.0, kubectl: str = "kubectl",
        namespace: str | None = None,
    ) -> None:  # fmt: skip
        super().__init__(daemon=True)
        self.path, self.interval, self.kubectl = path, interval, kubectl
        # None: kubectl's current namespace (the e2e run pins its own context).
        self.namespace = namespace
        self.errors: list[str] = []
        self.samples = 0
        self._stop_event = threading.Event()

    def get(self, *what: str) -> dict[str, Any] | None:
        """`kubectl get WHAT -o json`, parsed; None (the error recorded) when it fails."""
        scope = ["--namespace", self.namespace] if self.namespace else []
        try:
            result = subprocess.run(
                [self.kubectl, *scope, "get", *what, "-o", "json"],
                capture_output=True, text=True, timeout=max(self.interval, 5), check=False,
            )  # fmt: skip
        except (OSError, subprocess.SubprocessError) as error:
            self.error(f"kubectl failed: {error}")
            return None
        if result.returncode != 0:
            self.error(f"kubectl get {' '.join(what)}: {result.stderr.strip()[:200]}")
            return None
        try:
            document: dict[str, Any] = json.loads(result.stdout)
        except ValueError as error:
            self.error(f"kubectl returned no JSON: {error}")
            return None
        return document

    def error(self, message: str) -> None:
        """Record a failure once, and say it."""
        if message not in self.errors:
            self.errors.append(message)
            print(f"bench: {self.label}: {message}", flush=True)

    @abstractmethod
    def poll(self) -> list[dict[str, Any]]:
        """The rows of one poll ([] when there is nothing new or kubectl failed)."""

    def run(self) -> None:
        with self.path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=self.columns)
            writer.writeheader()
            while not self._stop_event.is_set():
                rows = self.poll()
                if rows:
                    writer.writerows(rows)
                    handle.flush()
                    self.samples += 1
                self._stop_event.wait(self.interval)

    def stop(self) -> None:
        """Ask the thread to finish and wait for it."""
        self._stop_event.set()
        self.join(timeout=30)
