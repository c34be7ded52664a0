"""Fixtures for the LLM adapter tests: one fake OpenAI-compatible server per session, reset per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.fakes.openai_server import FakeOpenAIServer


@pytest.fixture(scope="session")
def fake_openai_server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture
def fake_openai(fake_openai_server: FakeOpenAIServer) -> FakeOpenAIServer:
    """The session's fake server with defaults restored and no recorded requests."""
    fake_openai_server.reset()
    return fake_openai_server
