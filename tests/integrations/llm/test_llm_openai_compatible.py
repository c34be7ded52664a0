"""The OpenAI-compatible provider, driven against the loopback fake server."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

import pytest
from tests.fakes.openai_server import FakeOpenAIServer, RecordedRequest, fake_model, split_tokens

from answerdesk.integrations.llm import (
    ChatMessage,
    Completion,
    CompletionParams,
    LLMBadResponse,
    LLMProvider,
    LLMRejected,
    LLMTimeout,
    LLMUnavailable,
    OpenAICompatibleProvider,
    StreamDone,
    StreamEvent,
    TokenDelta,
)

LONG_REPLY = " ".join(f"word{i}" for i in range(200))


def make_provider(fake: FakeOpenAIServer, **overrides: Any) -> OpenAICompatibleProvider:
    """A provider on the fake with fast retries, so tests measure behaviour rather than waiting."""
    options: dict[str, Any] = {
        "api_key": "sk-test",
        "base_url": fake.base_url,
        "timeout": 5.0,
        "first_token_timeout": 5.0,
        "retry_base_delay": 0.001,
        "retry_max_delay": 0.005,
    }
    return OpenAICompatibleProvider(**(options | overrides))


def make_messages(question: str = "How do I reset my password?") -> list[ChatMessage]:
    return [
        ChatMessage(role="system", content="You answer from the knowledge base only."),
        ChatMessage(role="user", content=question),
    ]


def params(model: str = "test/model", **overrides: Any) -> CompletionParams:
    return CompletionParams(model=model, **overrides)


async def collect(events: Any) -> tuple[list[str], Completion]:
    tokens: list[str] = []
    async for event in events:
        if isinstance(event, TokenDelta):
            tokens.append(event.text)
        else:
            assert isinstance(event, StreamDone)
            return tokens, event.completion
    raise AssertionError("stream ended without StreamDone")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def finished(model: str) -> Any:
    def predicate(requests: list[RecordedRequest]) -> bool:
        return any(r.model == model and r.outcome != "pending" for r in requests)

    return predicate


# -- non-streaming -----------------------------------------------------------------------------


async def test_complete_returns_text_usage_and_answering_model(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.reply = "Use the reset link on the login page."
    async with make_provider(fake_openai) as llm:
        completion = await llm.complete(make_messages(), params(temperature=0.1, top_p=0.9))

    assert completion.text == "Use the reset link on the login page."
    assert completion.model == "test/model"
    assert completion.finish_reason == "stop"
    assert completion.completion_tokens == len(split_tokens(completion.text))
    assert completion.prompt_tokens > 0
    assert completion.usage_estimated is False
    assert completion.latency_ms > 0
    sent = fake_openai.last_request
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer sk-test"
    assert sent.body["messages"] == [m.model_dump() for m in make_messages()]
    assert sent.body["temperature"] == 0.1
    assert sent.body["top_p"] == 0.9
    assert "max_tokens" not in sent.body
    assert sent.stream is False


async def test_complete_honours_max_tokens(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.reply = LONG_REPLY
    async with make_provider(fake_openai) as llm:
        completion = await llm.complete(make_messages(), params(max_tokens=5))

    assert completion.finish_reason == "length"
    assert completion.completion_tokens == 5
    assert completion.text == "".join(split_tokens(LONG_REPLY)[:5])
    assert fake_openai.last_request.body["max_tokens"] == 5


async def test_complete_estimates_usage_when_server_gives_none(fake_openai: FakeOpenAIServer) -> None:
    async with make_provider(fake_openai) as llm:
        completion = await llm.complete(make_messages(), params(fake_model("no-usage")))

    assert completion.usage_estimated is True
    assert completion.prompt_tokens > 0
    assert completion.completion_tokens > 0


async def test_echo_shows_the_prompt_as_sent(fake_openai: FakeOpenAIServer) -> None:
    async with make_provider(fake_openai) as llm:
        completion = await llm.complete(make_messages("Where is my invoice?"), params(fake_model("echo")))

    assert completion.text.splitlines() == [
        "system: You answer from the knowledge base only.",
        "user: Where is my invoice?",
    ]


async def test_provider_satisfies_the_protocol(fake_openai: FakeOpenAIServer) -> None:
    async with make_provider(fake_openai) as llm:
        provider: LLMProvider = llm
        completion = await provider.complete(make_messages(), params())
    assert completion.text == fake_openai.reply


# -- attribution headers -------------------------------------------------------------------------


async def test_openrouter_attribution_headers_are_sent(fake_openai: FakeOpenAIServer) -> None:
    provider = make_provider(
        fake_openai,
        base_url=fake_openai.openrouter_base_url,
        attribution=True,
        app_url="https://support.example.com",
    )
    async with provider as llm:
        await llm.complete(make_messages(), params())
        tokens, _ = await collect(llm.stream(make_messages(), params()))

    assert tokens
    for sent in fake_openai.requests:
        assert sent.path == "/api/v1/chat/completions"
        assert sent.headers["http-referer"] == "https://support.example.com"
        assert sent.headers["x-title"] == "Answerdesk"


async def test_attribution_is_off_by_default_for_other_servers(fake_openai: FakeOpenAIServer) -> None:
    async with make_provider(fake_openai, app_url="https://support.example.com") as llm:
        await llm.complete(make_messages(), params())

    assert "x-title" not in fake_openai.last_request.headers
    assert "http-referer" not in fake_openai.last_request.headers


async def test_extra_default_headers_are_sent(fake_openai: FakeOpenAIServer) -> None:
    async with make_provider(fake_openai, default_headers={"X-Tenant": "acme"}) as llm:
        await llm.complete(make_messages(), params())

    assert fake_openai.last_request.headers["x-tenant"] == "acme"


# -- retries and fallback ----------------------------------------------------------------------


async def test_429_is_retried_after_the_retry_after_delay(fake_openai: FakeOpenAIServer) -> None:
    model = fake_model("429-once", "retry-after-300ms")
    async with make_provider(fake_openai) as llm:
        completion = await llm.complete(make_messages(), params(model))

    first, second = fake_openai.requests
    assert (first.status, second.status) == (429, 200)
    assert completion.model == model
    # Backoff is set to milliseconds, so only the honoured Retry-After explains this gap.
    assert second.received_at - first.received_at >= 0.3


async def test_retry_after_beyond_the_deadline_gives_up_at_once(fake_openai: FakeOpenAIServer) -> None:
    model = fake_model("429", "retry-after-5000ms")
    async with make_provider(fake_openai, retry_deadline=1.0) as llm:
        with pytest.raises(LLMUnavailable) as caught:
            await llm.complete(make_messages(), params(model))

    assert caught.value.status_code == 429
    assert caught.value.retry_after == 5.0
    assert len(fake_openai.requests) == 1


async def test_500s_exhaust_retries_then_the_fallback_answers(fake_openai: FakeOpenAIServer) -> None:
    primary, fallback = fake_model("500"), fake_model("echo")
    async with make_provider(fake_openai, max_retries=2) as llm:
        completion = await llm.complete(make_messages(), params(primary, fallback_model=fallback))

    assert completion.model == fallback
    assert [r.model for r in fake_openai.requests] == [primary, primary, primary, fallback]


async def test_500s_without_fallback_raise_unavailable(fake_openai: FakeOpenAIServer) -> None:
    async with make_provider(fake_openai, max_retries=1) as llm:
        with pytest.raises(LLMUnavailable) as caught:
            await llm.complete(make_messages(), params(fake_model("503")))

    assert caught.value.status_code == 503
    assert caught.value.model == fake_model("503")
    assert len(fake_openai.requests) == 2


async def test_both_models_failing_raises_the_fallback_error(fake_openai: FakeOpenAIServer) -> None:
    async with make_provider(fake_openai, max_retries=0) as llm:
        with pytest.raises(LLMUnavailable) as caught:
            await llm.complete(make_messages(), params(fake_model("500"), fallback_model=fake_model("502")))

    assert caught.value.status_code == 502
    assert isinstance(caught.value.__cause__, LLMUnavailable)
    assert caught.value.__cause__.status_code == 500


async def test_client_errors_are_not_retried(fake_openai: FakeOpenAIServer) -> None:
    async with make_provider(fake_openai) as llm:
        with pytest.raises(LLMRejected) as caught:
            await llm.complete(make_messages(), params(fake_model("401")))

    assert caught.value.status_code == 401
    assert len(fake_openai.requests) == 1


async def test_connection_refused_is_retried_then_unavailable() -> None:
    llm = OpenAICompatibleProvider(
        api_key="sk-test",
        base_url=f"http://127.0.0.1:{closed_port()}/v1",
        retry_base_delay=0.001,
        retry_max_delay=0.005,
    )
    async with llm:
        with pytest.raises(LLMUnavailable, match="cannot reach"):
            await llm.complete(make_messages(), params())


# -- timeouts and bad responses ------------------------------------------------------------------


async def test_slow_answer_times_out_without_retry_and_closes_the_request(
    fake_openai: FakeOpenAIServer,
) -> None:
    model = fake_model("ttft-3000ms")
    async with make_provider(fake_openai, timeout=0.3) as llm:
        with pytest.raises(LLMTimeout, match=r"0\.3s"):
            await llm.complete(make_messages(), params(model))

    requests = await fake_openai.wait_for_async(finished(model), what="slow request ended")
    assert len(requests) == 1
    assert requests[0].client_disconnected


async def test_slow_primary_falls_back(fake_openai: FakeOpenAIServer) -> None:
    # Generous: the same limit applies to the fallback, which must answer on a loaded machine.
    async with make_provider(fake_openai, timeout=1.0) as llm:
        completion = await llm.complete(
            make_messages(), params(fake_model("hang"), fallback_model="good/model")
        )

    assert completion.model == "good/model"


@pytest.mark.parametrize("directive", ["malformed", "garbage"])
async def test_malformed_body_raises_bad_response(fake_openai: FakeOpenAIServer, directive: str) -> None:
    async with make_provider(fake_openai) as llm:
        with pytest.raises(LLMBadResponse, match="not JSON"):
            await llm.complete(make_messages(), params(fake_model(directive)))

    assert len(fake_openai.requests) == 1


# -- streaming ---------------------------------------------------------------------------------


async def test_stream_yields_tokens_then_done_with_usage(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.reply = "Open Settings, then Security, then Reset password."
    async with make_provider(fake_openai) as llm:
        tokens, completion = await collect(llm.stream(make_messages(), params()))

    assert tokens == split_tokens(fake_openai.reply)
    assert completion.text == fake_openai.reply
    assert completion.completion_tokens == len(tokens)
    assert completion.usage_estimated is False
    assert completion.finish_reason == "stop"
    assert completion.model == "test/model"
    assert completion.first_token_ms is not None
    assert completion.first_token_ms <= completion.latency_ms
    sent = fake_openai.last_request
    assert sent.stream is True
    assert sent.body["stream_options"] == {"include_usage": True}
    assert sent.outcome == "completed"


async def test_stream_estimates_usage_when_server_gives_none(fake_openai: FakeOpenAIServer) -> None:
    async with make_provider(fake_openai) as llm:
        tokens, completion = await collect(llm.stream(make_messages(), params(fake_model("no-usage"))))

    assert "".join(tokens) == fake_openai.reply
    assert completion.usage_estimated is True
    assert completion.completion_tokens > 0


async def test_stream_reports_time_to_first_token(fake_openai: FakeOpenAIServer) -> None:
    async with make_provider(fake_openai) as llm:
        _, completion = await collect(llm.stream(make_messages(), params(fake_model("ttft-200ms"))))

    assert completion.first_token_ms is not None
    assert completion.first_token_ms >= 200


async def test_stream_retries_before_the_first_token(fake_openai: FakeOpenAIServer) -> None:
    model = fake_model("503-once")
    async with make_provider(fake_openai) as llm:
        tokens, completion = await collect(llm.stream(make_messages(), params(model)))

    assert "".join(tokens) == fake_openai.reply
    assert completion.model == model
    assert [r.status for r in fake_openai.requests] == [503, 200]


async def test_stream_first_token_timeout_falls_back(fake_openai: FakeOpenAIServer) -> None:
    primary = fake_model("hang")
    async with make_provider(fake_openai, first_token_timeout=1.0) as llm:
        tokens, completion = await collect(
            llm.stream(make_messages(), params(primary, fallback_model="good/model"))
        )

    assert completion.model == "good/model"
    assert "".join(tokens) == fake_openai.reply
    hung = (await fake_openai.wait_for_async(finished(primary), what="hung stream closed"))[0]
    assert hung.client_disconnected


async def test_stream_first_token_timeout_counts_headers_without_tokens(
    fake_openai: FakeOpenAIServer,
) -> None:
    async with make_provider(fake_openai, first_token_timeout=0.3) as llm:
        with pytest.raises(LLMTimeout, match="first token"):
            await collect(llm.stream(make_messages(), params(fake_model("ttft-3000ms"))))

    assert len(fake_openai.requests) == 1


async def test_stream_malformed_chunk_raises_bad_response(fake_openai: FakeOpenAIServer) -> None:
    async with make_provider(fake_openai) as llm:
        with pytest.raises(LLMBadResponse):
            await collect(llm.stream(make_messages(), params(fake_model("malformed"))))

    assert len(fake_openai.requests) == 1


@pytest.mark.parametrize(
    ("directive", "error"), [("drop-after-2", LLMUnavailable), ("malformed-after-2", LLMBadResponse)]
)
async def test_no_retry_or_fallback_after_the_first_token(
    fake_openai: FakeOpenAIServer, directive: str, error: type[Exception]
) -> None:
    received: list[str] = []
    async with make_provider(fake_openai) as llm:
        with pytest.raises(error):
            async for event in llm.stream(
                make_messages(), params(fake_model(directive), fallback_model="good/model")
            ):
                assert isinstance(event, TokenDelta)
                received.append(event.text)

    assert received == split_tokens(fake_openai.reply)[:2]
    assert [r.model for r in fake_openai.requests] == [fake_model(directive)]


async def test_closing_the_stream_disconnects_from_the_server(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.reply = LONG_REPLY
    model = fake_model("tokens-20ms")
    async with make_provider(fake_openai) as llm:
        received: list[StreamEvent] = []
        async with contextlib.aclosing(llm.stream(make_messages(), params(model))) as events:
            async for event in events:
                received.append(event)
                if len(received) == 3:
                    break

        assert all(isinstance(e, TokenDelta) for e in received)
        cut = (await fake_openai.wait_for_async(finished(model), timeout=5.0, what="stream cut"))[0]

    assert cut.client_disconnected
    assert cut.tokens_sent < len(split_tokens(LONG_REPLY))


async def test_cancelling_the_consumer_disconnects_from_the_server(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.reply = LONG_REPLY
    model = fake_model("tokens-20ms")
    first_token = asyncio.Event()

    async def consume(llm: OpenAICompatibleProvider) -> None:
        async for event in llm.stream(make_messages(), params(model)):
            if isinstance(event, TokenDelta):
                first_token.set()

    async with make_provider(fake_openai) as llm:
        task = asyncio.create_task(consume(llm))
        await asyncio.wait_for(first_token.wait(), timeout=5.0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        cut = (await fake_openai.wait_for_async(finished(model), timeout=5.0, what="stream cut"))[0]

    assert cut.client_disconnected
    assert cut.tokens_sent < len(split_tokens(LONG_REPLY))
