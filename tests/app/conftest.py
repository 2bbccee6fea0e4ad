"""In-process clients (lifespan runs)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.helpers.server import FIXED_ID


@pytest.fixture
def make_client() -> Iterator[Callable[..., TestClient]]:
    """Factory: a started TestClient (lifespan ran) for the given settings."""
    clients: list[TestClient] = []

    def build(**settings: object) -> TestClient:
        client = TestClient(create_app(Settings(**settings)))  # type: ignore[arg-type]
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
