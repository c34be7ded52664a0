"""Wire-format validation, token estimates and attribution headers (pure functions)."""

from __future__ import annotations

import json

import pytest

from answerdesk.integrations.llm import (
    OPENROUTER_BASE_URL,
    ChatMessage,
    LLMBadResponse,
    LLMUnavailable,
    attribution_headers,
)
from answerdesk.integrations.llm.wire import (
    estimate_prompt_tokens,
    estimate_tokens,
    parse_chunk,
    parse_completion,
)


def completion_body(**overrides: object) -> bytes:
    body: dict[str, object] = {
        "model": "openai/gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 7, "completion_tokens": 1, "total_tokens": 8},
    }
    return json.dumps(body | overrides).encode()


def test_parse_completion_reads_the_fields_we_use() -> None:
    wire = parse_completion(completion_body(), model="m")
    assert wire.model == "openai/gpt-4o-mini"
    assert wire.choices[0].message.content == "Hi"
    assert wire.usage is not None and wire.usage.prompt_tokens == 7


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<html>502</html>",
        b'{"choices": [',
        b"[1, 2]",
        completion_body(choices=[]),
        completion_body(choices="nope"),
        completion_body(choices=[{"message": {"content": 7}}]),
        completion_body(usage={"prompt_tokens": -1, "completion_tokens": 0}),
    ],
)
def test_parse_completion_rejects_what_is_not_a_completion(body: bytes) -> None:
    with pytest.raises(LLMBadResponse):
        parse_completion(body, model="m")


def test_error_object_with_200_is_an_upstream_failure() -> None:
    body = json.dumps({"error": {"message": "Provider returned error", "code": 502}}).encode()
    with pytest.raises(LLMUnavailable, match="Provider returned error"):
        parse_completion(body, model="m")


def test_parse_chunk_accepts_usage_only_chunks_and_rejects_garbage() -> None:
    chunk = parse_chunk({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2}}, model="m")
    assert chunk.choices == [] and chunk.usage is not None
    assert parse_chunk({"choices": [{"delta": {"content": "a"}}]}, model="m").choices[0].delta.content == "a"
    for garbage in ([1, 2], "text", {"choices": [{"delta": 5}]}):
        with pytest.raises(LLMBadResponse):
            parse_chunk(garbage, model="m")


def test_token_estimates_are_rough_but_monotonic() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcd") == 1
    assert estimate_tokens("a" * 400) == 100
    short = [ChatMessage(role="user", content="hi")]
    long = [ChatMessage(role="system", content="x" * 400), *short]
    assert 0 < estimate_prompt_tokens(short) < estimate_prompt_tokens(long)


def test_attribution_headers_go_to_openrouter_only_by_default() -> None:
    # Pure header logic: no request is made to any of these base URLs.
    assert attribution_headers(OPENROUTER_BASE_URL, "https://help.example.com") == {
        "X-Title": "Answerdesk",
        "HTTP-Referer": "https://help.example.com",
    }
    assert attribution_headers("https://llm.provider.example/v1", "https://help.example.com") == {}
    assert attribution_headers("http://127.0.0.1:11434/v1", None, enabled=True) == {"X-Title": "Answerdesk"}
    lookalike = OPENROUTER_BASE_URL.replace("openrouter.ai", "openrouter.ai.evil.test")
    assert attribution_headers(lookalike, "https://x") == {}
