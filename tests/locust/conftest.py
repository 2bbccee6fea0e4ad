"""Locust tests: pure modules are imported here; anything that imports locust
(and so gevent's monkey-patching) runs in a subprocess, see library_run.py."""

from __future__ import annotations

import sys
from pathlib import Path

LOCUST_DIR = Path(__file__).resolve().parents[2] / "locust"
if str(LOCUST_DIR) not in sys.path:
    sys.path.insert(0, str(LOCUST_DIR))

# The chart fixtures, to check the host against the Service our chart renders.
from tests.chart.conftest import helm, render  # noqa: E402, F401
