"""Fixtures: a loopback WHMCS and a loopback SMTP server, each reset per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.whmcs_server import FakeWhmcs, FakeWhmcsServer, serve_fake_whmcs
from tests.tickets.smtp_server import SmtpServer, serve_smtp


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


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpServer]:
    with serve_smtp() as server:
        yield server


@pytest.fixture
def smtp(smtp_server: SmtpServer) -> SmtpServer:
    """The session's SMTP server, accepting again and with nothing received."""
    smtp_server.fake.reset()
    return smtp_server
