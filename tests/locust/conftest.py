"""Locust tests: pure modules are imported here (`lib` is found through pytest's pythonpath,
pyproject.toml, as Locust finds it beside main.py); anything that imports locust (and so
gevent's monkey-patching) runs in a subprocess, see library_run.py."""

from __future__ import annotations

# The chart fixtures, to check the host against the Service our chart renders.
from tests.chart.conftest import helm, render  # noqa: F401
