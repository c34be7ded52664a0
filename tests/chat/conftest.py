"""Chat fixtures: an app whose LLM is the fake OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from answerdesk.main import create_app
from answerdesk.runtime import Runtime
from tests.conftest import make_settings
from tests.fakes.openai_server import FakeOpenAIServer

LLM_MODEL = "fake/ok"


@pytest.fixture
async def llm_app(database_url: str, tmp_path: Path, fake_openai: FakeOpenAIServer) -> AsyncIterator[FastAPI]:
    settings = make_settings(
        database_url,
        tmp_path / "data",
        llm_base_url=fake_openai.base_url,
        llm_api_key="test-key",
        llm_model=LLM_MODEL,
        llm_fallback_model=None,
        llm_timeout_seconds=5.0,
        llm_first_token_timeout_seconds=5.0,
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def llm_runtime(llm_app: FastAPI) -> Runtime:
    rt: Runtime = llm_app.state.runtime
    return rt


@pytest.fixture
async def llm_client(llm_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=llm_app, client=("203.0.113.10", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c
