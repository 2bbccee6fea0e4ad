"""Fixtures used in more than one folder: real server processes, helm and chart rendering.

The code behind them is in tests/helpers; in-process clients are in tests/app/conftest.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial

import pytest

from tests.helpers.helm import Objects, find_helm, render_chart
from tests.helpers.server import ServerProcess


@pytest.fixture
def start_server() -> Iterator[Callable[..., ServerProcess]]:
    """Factory for real server processes; all are stopped at teardown."""
    servers: list[ServerProcess] = []

    def start(*args: str, env: dict[str, str] | None = None) -> ServerProcess:
        server = ServerProcess(*args, env=env)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture(scope="session")
def helm() -> str:
    binary = find_helm()
    if binary is None:
        pytest.skip("no helm binary: put helm on PATH or run `make helm` (make test does)")
    return binary


@pytest.fixture(scope="session")
def render(helm: str) -> Callable[..., Objects]:
    """Render the chart with values files and --set pairs; fail with helm's stderr."""
    return partial(render_chart, helm)
