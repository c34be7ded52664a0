"""Fixtures: a loopback WHMCS, reset per test (the SMTP server is in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.whmcs_server import FakeWhmcs, FakeWhmcsServer, serve_fake_whmcs


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
