"""Fixtures: one fake WHMCS server per session, reset before each test, and real clients for it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from tests.fakes.whmcs_server import (
    DEFAULT_IDENTIFIER,
    DEFAULT_SECRET,
    FakeWhmcs,
    FakeWhmcsServer,
    serve_fake_whmcs,
)

from answerdesk.integrations.whmcs import WhmcsClient

ClientFactory = Callable[..., WhmcsClient]


@pytest.fixture(scope="session")
def whmcs_server() -> Iterator[FakeWhmcsServer]:
    with serve_fake_whmcs(FakeWhmcs()) as server:
        yield server


@pytest.fixture
def fake(whmcs_server: FakeWhmcsServer) -> Iterator[FakeWhmcs]:
    whmcs_server.fake.reset()
    yield whmcs_server.fake
    # Parked "timeout" requests must not outlive the test that parked them.
    whmcs_server.fake.release_parked()


@pytest.fixture
async def make_client(whmcs_server: FakeWhmcsServer, fake: FakeWhmcs) -> AsyncIterator[ClientFactory]:
    """Build clients for the fake: short timeout, no backoff delay; closed after the test."""
    made: list[WhmcsClient] = []

    def build(**overrides: Any) -> WhmcsClient:
        options: dict[str, Any] = {
            "base_url": whmcs_server.base_url,
            "identifier": DEFAULT_IDENTIFIER,
            "secret": DEFAULT_SECRET,
            "timeout": 2.0,
            "max_read_retries": 2,
            "backoff_base": 0.0,
        }
        options.update(overrides)
        client = WhmcsClient(**options)
        made.append(client)
        return client

    yield build
    for client in made:
        await client.aclose()


@pytest.fixture
def whmcs(make_client: ClientFactory) -> WhmcsClient:
    return make_client()
