"""/metrics: the series move with real requests, answers, LLM calls, jobs and live connections; the token."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncSession
from websockets.asyncio.client import connect

from answerdesk.main import create_app
from answerdesk.runtime import Runtime
from tests.chat.live_support import ORIGIN, customer_headers, live_org
from tests.chat.support import API, make_chat
from tests.conftest import app_client, make_settings, started_app
from tests.fakes.openai_server import FakeOpenAIServer, fake_model
from tests.live import serve

QUESTION = "How can I check that my nameserver change has worked?"
MESSAGES_ROUTE = "/api/v1/conversations/{conversation_id}/messages"


def value(text: str, name: str, **labels: str) -> float:
    """One sample of the exposition text (0 when the series does not exist yet)."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


async def scrape(client: httpx.AsyncClient, **headers: str) -> str:
    response = await client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


async def test_requests_answers_llm_and_jobs_move_their_series(
    llm_client: httpx.AsyncClient, db: AsyncSession, llm_runtime: Runtime, fake_openai: FakeOpenAIServer
) -> None:
    chat = await make_chat(llm_client, db, llm_runtime)
    before = await scrape(llm_client)

    reply = await chat.ask(QUESTION)
    assert reply["message"]["mode"] == "llm"
    faq = await llm_client.post(
        "/api/v1/knowledge/faqs",
        headers=chat.headers,
        json={"question": "Do you offer refunds?", "answer": "Yes, within 30 days."},
    )
    assert faq.status_code == 202
    await llm_runtime.jobs.drain()
    after = await scrape(llm_client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    ok = {"method": "POST", "route": MESSAGES_ROUTE, "status": "200"}
    assert moved("answerdesk_http_requests_total", **ok) == 1
    assert moved("answerdesk_http_request_duration_seconds_count", method="POST", route=MESSAGES_ROUTE) == 1
    assert (
        moved("answerdesk_http_requests_total", method="POST", route="/api/v1/conversations", status="201")
        == 1
    )
    assert moved("answerdesk_answers_total", mode="llm") == 1
    assert moved("answerdesk_answer_duration_seconds_count", mode="llm") == 1
    assert moved("answerdesk_llm_request_duration_seconds_count") == 1
    assert moved("answerdesk_llm_tokens_total", kind="prompt") == reply["message"]["prompt_tokens"]
    assert moved("answerdesk_llm_tokens_total", kind="completion") == reply["message"]["completion_tokens"]
    assert moved("answerdesk_jobs_enqueued_total", task="knowledge.ingest") >= 1
    assert moved("answerdesk_jobs_finished_total", task="knowledge.ingest", outcome="succeeded") >= 1
    assert value(after, "answerdesk_jobs_running", task="knowledge.ingest") == 0
    assert value(after, "answerdesk_jobs_queued") == 0
    assert moved("answerdesk_index_refreshes_total", how="built") >= 1
    # Route templates only: a raw path (with the conversation's id) would make a series per conversation.
    assert reply["message"]["conversation_id"] not in after


async def test_llm_errors_and_fallback_answers_are_counted(
    llm_client: httpx.AsyncClient, db: AsyncSession, llm_runtime: Runtime, fake_openai: FakeOpenAIServer
) -> None:
    chat = await make_chat(llm_client, db, llm_runtime)
    response = await chat.client.put(
        "/api/v1/ai-settings", headers=chat.headers, json={"model": fake_model("400")}
    )
    assert response.status_code == 200, response.text
    before = await scrape(llm_client)
    reply = await chat.ask(QUESTION)
    after = await scrape(llm_client)
    mode = reply["message"]["mode"]
    assert mode != "llm"
    assert (
        value(after, "answerdesk_llm_errors_total", kind="LLMRejected")
        - value(before, "answerdesk_llm_errors_total", kind="LLMRejected")
        == 1
    )
    assert (
        value(after, "answerdesk_answers_total", mode=mode)
        - value(before, "answerdesk_answers_total", mode=mode)
        == 1
    )


async def test_jobs_not_finished_are_a_gauge_read_from_the_queue(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await runtime.jobs.enqueue("knowledge.ingest", document_id=str(uuid.uuid4()), defer_seconds=3600)
    assert value(await scrape(client), "answerdesk_jobs_queued") == 1


async def test_metrics_are_public_without_a_token(client: httpx.AsyncClient) -> None:
    text = await scrape(client)
    assert "answerdesk_http_requests_total" in text


async def test_a_metrics_token_requires_the_bearer(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path / "data", metrics_token="metrics-token-0123456789")
    async with started_app(settings) as application, app_client(application) as c:
        for headers in (
            {},
            {"Authorization": "Bearer wrong"},
            {"Authorization": "Basic metrics-token-0123456789"},
        ):
            response = await c.get("/metrics", headers=headers)
            assert response.status_code == 401
            assert response.json()["error"]["code"] == "unauthorized"
        assert "answerdesk_" in await scrape(c, Authorization="Bearer metrics-token-0123456789")


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[str]:
    with serve(create_app(make_settings(database_url, tmp_path / "server"))) as base:
        yield base


async def _gauge(http: httpx.AsyncClient, kind: str) -> float:
    return value(await scrape(http), "answerdesk_live_connections", kind=kind)


async def _wait_for_gauge(http: httpx.AsyncClient, kind: str, expected: float) -> None:
    deadline = time.monotonic() + 10
    while (seen := await _gauge(http, kind)) != expected:
        assert time.monotonic() < deadline, f"{kind} connections stayed at {seen}, expected {expected}"
        await asyncio.sleep(0.05)


async def test_live_connections_are_counted_while_open(server: str, db: AsyncSession) -> None:
    base = server
    org = await live_org(db)  # through this loop's own engine: the server's pool lives in its thread
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        started = await http.post(API, headers=customer_headers(org))
        cid, token = started.json()["id"], started.json()["token"]
        idle = await _gauge(http, "customer_websocket")
        url = f"{base.replace('http://', 'ws://')}{API}/{cid}/live?key={org.public_key}&token={token}"
        async with connect(url, origin=ORIGIN) as ws:  # type: ignore[arg-type]
            await ws.recv()
            await _wait_for_gauge(http, "customer_websocket", idle + 1)
        await _wait_for_gauge(http, "customer_websocket", idle)


def test_several_processes_share_one_view(tmp_path: Path) -> None:
    """Multiprocess mode: what two worker processes counted is summed by the one that renders."""
    directory = tmp_path / "prom"
    directory.mkdir()
    script = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from answerdesk.kit import metrics
        metrics.ANSWERS.labels("llm").inc()
        metrics.LIVE_CONNECTIONS.labels("customer_sse").inc()
        if sys.argv[1] == "exit":
            metrics.process_exited(Path(sys.argv[2]))
        else:
            print(metrics.render(Path(sys.argv[2]))[0].decode())
        """
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}

    def run(mode: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", script, mode, str(directory)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout

    run("stay")  # a worker that is still running (its live gauge counts)
    run("exit")  # a worker that shut down cleanly (its live gauge is dropped, its counters stay)
    text = run("stay")
    assert value(text, "answerdesk_answers_total", mode="llm") == 3
    assert value(text, "answerdesk_live_connections", kind="customer_sse") == 2
