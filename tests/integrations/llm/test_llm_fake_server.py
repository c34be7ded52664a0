"""The fake OpenAI server speaks the wire format and plays its scripts (checked with plain httpx)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from tests.fakes.openai_server import (
    Behaviour,
    FakeOpenAIServer,
    UnknownDirective,
    fake_model,
    parse_behaviour,
    split_tokens,
)


def chat_body(model: str = "any/model", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "hello there"}], **extra}


def sse_payloads(text: str) -> list[str]:
    return [line.removeprefix("data: ") for line in text.splitlines() if line.startswith("data: ")]


def test_directives_combine_over_the_defaults() -> None:
    defaults = Behaviour(reply="r", token_delay=0.01)
    b = parse_behaviour(fake_model("429-x2", "retry-after-300ms", "ttft-250ms", "echo", "no-usage"), defaults)
    assert (b.fail_status, b.fail_times, b.retry_after_ms) == (429, 2, 300)
    assert (b.ttft, b.token_delay, b.echo, b.usage, b.reply) == (0.25, 0.01, True, False, "r")
    assert parse_behaviour("openai/gpt-4o", defaults) is defaults
    assert parse_behaviour(fake_model("500-once"), defaults).fail_times == 1
    assert parse_behaviour(fake_model("drop-after-3"), defaults).drop_after == 3
    with pytest.raises(UnknownDirective):
        parse_behaviour(fake_model("explode"), defaults)


async def test_streaming_wire_format(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.reply = "One two three"
    async with httpx.AsyncClient(base_url=fake_openai.openrouter_base_url) as http:
        with_usage = await http.post(
            "/chat/completions", json=chat_body(stream=True, stream_options={"include_usage": True})
        )
        without_usage = await http.post("/chat/completions", json=chat_body(stream=True))

    assert with_usage.headers["content-type"].startswith("text/event-stream")
    payloads = sse_payloads(with_usage.text)
    assert payloads[-1] == "[DONE]"
    chunks = [json.loads(p) for p in payloads[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    deltas = [c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"]]
    assert "".join(deltas) == "One two three"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] == len(split_tokens("One two three"))
    assert all("usage" not in json.loads(p) for p in sse_payloads(without_usage.text)[:-1])


async def test_scripted_failures_count_per_model_and_reset(fake_openai: FakeOpenAIServer) -> None:
    model = fake_model("500-x2")
    async with httpx.AsyncClient(base_url=fake_openai.base_url) as http:
        statuses = [
            (await http.post("/chat/completions", json=chat_body(model))).status_code for _ in range(3)
        ]
        fake_openai.reset()
        after_reset = (await http.post("/chat/completions", json=chat_body(model))).status_code

    assert statuses == [500, 500, 200]
    assert after_reset == 500
    assert len(fake_openai.requests) == 1


async def test_429_carries_retry_after(fake_openai: FakeOpenAIServer) -> None:
    async with httpx.AsyncClient(base_url=fake_openai.base_url) as http:
        default = await http.post("/chat/completions", json=chat_body(fake_model("429")))
        scripted = await http.post(
            "/chat/completions", json=chat_body(fake_model("429", "retry-after-1500ms"))
        )

    assert default.status_code == 429 and default.headers["retry-after"] == "1"
    assert default.json()["error"]["type"] == "rate_limit_error"
    assert (scripted.headers["retry-after-ms"], scripted.headers["retry-after"]) == ("1500", "2")


async def test_bad_requests_are_refused_and_recorded(fake_openai: FakeOpenAIServer) -> None:
    async with httpx.AsyncClient(base_url=fake_openai.base_url) as http:
        typo = await http.post("/chat/completions", json=chat_body(fake_model("50O")))
        not_json = await http.post("/chat/completions", content=b"{oops")

    assert typo.status_code == 400 and "unknown fake directive" in typo.json()["error"]["message"]
    assert not_json.status_code == 400
    assert [r.status for r in fake_openai.requests] == [400, 400]


async def test_dropped_stream_is_cut_mid_body(fake_openai: FakeOpenAIServer) -> None:
    async with httpx.AsyncClient(base_url=fake_openai.base_url) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.post("/chat/completions", json=chat_body(fake_model("drop-after-2"), stream=True))

    recorded = fake_openai.last_request
    assert (recorded.outcome, recorded.tokens_sent) == ("dropped", 2)


def test_wait_for_fails_readably_after_its_timeout(fake_openai: FakeOpenAIServer) -> None:
    with pytest.raises(AssertionError, match="a request never sent"):
        fake_openai.wait_for(lambda requests: bool(requests), timeout=0.05, what="a request never sent")


def test_start_and_stop_on_a_free_port() -> None:
    with FakeOpenAIServer(reply="standalone") as fake:
        response = httpx.post(f"{fake.base_url}/chat/completions", json=chat_body())
        assert response.json()["choices"][0]["message"]["content"] == "standalone"
        url = fake.url
    with pytest.raises(httpx.ConnectError):
        httpx.post(f"{url}/v1/chat/completions", json=chat_body(), timeout=1.0)
