"""In-process clients (lifespan runs), for each build of the app.

Every test here that takes `client` or `make_client` runs twice: against the app
as served (the fast path, app/fastpath) and against a plain-FastAPI build of
the same routes (`create_app(fast_path=False)`), so the fast path stays provably
equivalent. A test that holds for one build only asks for `fast_path` and says why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.helpers.server import FIXED_ID


@pytest.fixture(params=[True, False], ids=["fast-path", "plain-fastapi"])
def fast_path(request: pytest.FixtureRequest) -> bool:
    """Which build the clients get."""
    return bool(request.param)


@pytest.fixture
def make_client(fast_path: bool) -> Iterator[Callable[..., TestClient]]:
    """Factory: a started TestClient (lifespan ran) for the given settings."""
    clients: list[TestClient] = []

    def build(**settings: object) -> TestClient:
        application = create_app(Settings(**settings), fast_path=fast_path)  # type: ignore[arg-type]
        client = TestClient(application)
        client.__enter__()
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    """A client on default settings with a fixed identifier."""
    return make_client(app_identifier=FIXED_ID)
