"""LLM provider for any OpenAI-compatible Chat Completions server (OpenRouter by default)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import TypeVar
from urllib.parse import urlsplit

import httpx2
import openai
import structlog

from answerdesk.integrations.llm.errors import (
    LLMBadResponse,
    LLMError,
    LLMRejected,
    LLMTimeout,
    LLMUnavailable,
)
from answerdesk.integrations.llm.retry import RetryPolicy, backoff_delay, retry_after_seconds
from answerdesk.integrations.llm.schemas import (
    ChatMessage,
    Completion,
    CompletionParams,
    StreamDone,
    StreamEvent,
    TokenDelta,
)
from answerdesk.integrations.llm.sse import event_data
from answerdesk.integrations.llm.wire import (
    WireChunk,
    WireUsage,
    estimate_prompt_tokens,
    estimate_tokens,
    parse_chunk,
    parse_completion,
)
from answerdesk.kit import metrics

OPENROUTER_BASE_URL = "https://openrouter.ai/api/v1"
APP_TITLE = "Answerdesk"
# Local servers (Ollama, vLLM) accept any key, but the SDK refuses to start without one.
PLACEHOLDER_API_KEY = "no-key"

log = structlog.get_logger(__name__)

T = TypeVar("T")


def is_openrouter(base_url: str) -> bool:
    host = urlsplit(base_url).hostname or ""
    return host == "openrouter.ai" or host.endswith(".openrouter.ai")


def attribution_headers(
    base_url: str, app_url: str | None, app_title: str = APP_TITLE, enabled: bool | None = None
) -> dict[str, str]:
    """OpenRouter's app attribution headers; by default sent only to OpenRouter."""
    if enabled is None:
        enabled = is_openrouter(base_url)
    if not enabled:
        return {}
    headers = {"X-Title": app_title}
    if app_url:
        headers["HTTP-Referer"] = app_url
    return headers


class OpenAICompatibleProvider:
    """``LLMProvider`` over the official ``openai`` SDK, with our own bounded retries and one fallback.

    Timeouts: ``connect_timeout`` to open a connection; ``timeout`` for a whole non-streaming
    answer and for any silence between stream chunks; ``first_token_timeout`` from sending a
    streaming request to its first token; ``stream_timeout`` for a whole stream. A timed-out model
    is not retried (it is likely to be slow again) but the fallback model is tried.
    """

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str = OPENROUTER_BASE_URL,
        app_url: str | None = None,
        app_title: str = APP_TITLE,
        attribution: bool | None = None,
        default_headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
        connect_timeout: float = 5.0,
        first_token_timeout: float = 15.0,
        stream_timeout: float = 120.0,
        max_retries: int = 2,
        retry_base_delay: float = 0.5,
        retry_max_delay: float = 4.0,
        max_retry_after: float = 10.0,
        retry_deadline: float = 20.0,
    ) -> None:
        self.base_url = base_url
        self._timeout = timeout
        self._first_token_timeout = first_token_timeout
        self._stream_timeout = stream_timeout
        self._retry = RetryPolicy(
            max_retries=max_retries,
            base_delay=retry_base_delay,
            max_delay=retry_max_delay,
            max_retry_after=max_retry_after,
            deadline=retry_deadline,
        )
        headers = {
            **attribution_headers(base_url, app_url, app_title, attribution),
            **(default_headers or {}),
        }
        self._client = openai.AsyncOpenAI(
            api_key=api_key or PLACEHOLDER_API_KEY,
            base_url=base_url,
            default_headers=headers,
            timeout=openai.Timeout(timeout, connect=connect_timeout),
            # Retries are ours (below): bounded by a deadline, aware of the fallback, and testable.
            max_retries=0,
        )

    async def aclose(self) -> None:
        await self._client.close()

    async def __aenter__(self) -> OpenAICompatibleProvider:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # -- non-streaming ------------------------------------------------------------------------

    async def complete(self, messages: Sequence[ChatMessage], params: CompletionParams) -> Completion:
        started = time.monotonic()

        async def attempt(model: str) -> Completion:
            try:
                async with asyncio.timeout(self._timeout):
                    response = await self._post(_request_body(model, messages, params, stream=False))
                    body = await response.aread()
            except (openai.APIError, TimeoutError, httpx2.TransportError) as exc:
                raise self._translate(exc, model, self._timeout) from exc
            wire = parse_completion(body, model=model)
            choice = wire.choices[0]
            text = choice.message.content or ""
            return _completion(
                text=text,
                requested_model=model,
                answered_model=wire.model,
                usage=wire.usage,
                messages=messages,
                started=started,
                finish_reason=choice.finish_reason,
            )

        return await self._with_fallback(params, attempt)

    async def _post(self, body: dict[str, object]) -> httpx2.Response:
        """POST /chat/completions through the SDK's own client (auth, headers, timeouts, status errors as
        ``openai.APIStatusError``), returning the raw response; a stream's body is still unread.

        Not ``chat.completions.create``: on a chat answer its typed-parameter transform and the objects it
        builds per streamed chunk cost more CPU than the rest of our request (bench/chat_concurrency.py).
        """
        return await self._client.post(
            "/chat/completions", cast_to=httpx2.Response, body=body, stream=body.get("stream") is True
        )

    # -- streaming ----------------------------------------------------------------------------

    async def stream(
        self, messages: Sequence[ChatMessage], params: CompletionParams
    ) -> AsyncGenerator[StreamEvent, None]:
        """Token deltas then one ``StreamDone``.

        Retries and the fallback happen only before the first token; after it, errors are raised.
        Closing this iterator (or cancelling its consumer) closes the HTTP stream at once.
        """
        started = time.monotonic()
        opened = await self._with_fallback(
            params, lambda model: self._open_stream(model, messages, params, started)
        )
        state, body = opened.state, opened.body
        deadline = asyncio.get_running_loop().time() + self._stream_timeout
        try:
            if opened.first_text:
                yield TokenDelta(text=opened.first_text)
            while not opened.ended:
                chunk = await self._next_chunk(body, state.requested_model, deadline)
                if chunk is None:
                    break
                text = state.apply(chunk)
                if text:
                    yield TokenDelta(text=text)
        finally:
            await body.close()
        yield StreamDone(completion=state.completion(messages))

    async def _open_stream(
        self, model: str, messages: Sequence[ChatMessage], params: CompletionParams, started: float
    ) -> _OpenStream:
        """Send the request and read up to the first token, all within ``first_token_timeout``.

        The SDK sends the request (auth, headers, timeouts, status errors); the body is read as raw SSE with
        one ``json.loads`` per chunk (see ``_post``).
        """
        state = _StreamState(requested_model=model, started=started)
        body: _StreamBody | None = None
        try:
            async with asyncio.timeout(self._first_token_timeout):
                body = _StreamBody(await self._post(_request_body(model, messages, params, stream=True)))
                while True:
                    chunk = await body.next_chunk(model)
                    if chunk is None:
                        # No text and no finish reason: not a chat completion stream (e.g. an HTML page).
                        if state.finish_reason is None:
                            raise LLMBadResponse(f"{model}: the stream ended without any answer", model=model)
                        return _OpenStream(body, state, first_text="", ended=True)
                    text = state.apply(chunk)
                    if text:
                        return _OpenStream(body, state, first_text=text, ended=False)
        except BaseException as exc:
            if body is not None:
                await body.close()
            if isinstance(exc, _TRANSLATED):
                raise self._translate(exc, model, self._first_token_timeout, "first token") from exc
            raise

    async def _next_chunk(self, body: _StreamBody, model: str, deadline: float) -> WireChunk | None:
        """The next chunk, or None at the end of the stream."""
        loop = asyncio.get_running_loop()
        # Bounded per read, never across a yield: the consumer's own pace must not count.
        limit = min(deadline, loop.time() + self._timeout)
        try:
            async with asyncio.timeout_at(limit):
                return await body.next_chunk(model)
        except _TRANSLATED as exc:
            error = self._translate(exc, model, self._timeout, "next chunk")
            metrics.LLM_ERRORS.labels(type(error).__name__).inc()  # after the first token: no retry counts it
            raise error from exc

    # -- resilience ---------------------------------------------------------------------------

    async def _with_fallback(self, params: CompletionParams, attempt: Callable[[str], Awaitable[T]]) -> T:
        try:
            return await self._with_retries(params.model, attempt)
        except LLMError as exc:
            fallback = params.fallback_model
            if not fallback or fallback == params.model:
                raise
            primary_error = exc
            log.warning("llm.fallback", model=params.model, fallback=fallback, error=exc.message)
        try:
            return await self._with_retries(fallback, attempt)
        except LLMError as exc:
            raise exc from primary_error

    async def _with_retries(self, model: str, attempt: Callable[[str], Awaitable[T]]) -> T:
        policy = self._retry
        started = time.monotonic()
        retry = 0
        while True:
            try:
                return await attempt(model)
            except LLMError as exc:
                metrics.LLM_ERRORS.labels(type(exc).__name__).inc()
                if not exc.retryable or retry >= policy.max_retries:
                    raise
                delay = backoff_delay(policy, retry, exc.retry_after)
                if time.monotonic() - started + delay > policy.deadline:
                    raise
                log.warning(
                    "llm.retry", model=model, retry=retry + 1, delay_s=round(delay, 3), error=exc.message
                )
            await asyncio.sleep(delay)
            retry += 1

    def _translate(
        self, exc: BaseException, model: str, limit: float, waiting_for: str = "answer"
    ) -> LLMError:
        if isinstance(exc, TimeoutError | openai.APITimeoutError | httpx2.TimeoutException):
            return LLMTimeout(f"{model}: no {waiting_for} within {limit:g}s", model=model)
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            message = f"{model}: HTTP {status} from {self.base_url}: {exc.message}"
            if status in (408, 409, 429) or status >= 500:
                retry_after = retry_after_seconds(exc.response.headers)
                return LLMUnavailable(message, model=model, status_code=status, retry_after=retry_after)
            return LLMRejected(message, model=model, status_code=status)
        if isinstance(exc, openai.APIConnectionError):
            return LLMUnavailable(f"{model}: cannot reach {self.base_url}: {exc.message}", model=model)
        if isinstance(exc, httpx2.TransportError):  # the stream broke after the headers
            return LLMUnavailable(f"{model}: the stream from {self.base_url} broke: {exc}", model=model)
        if isinstance(exc, json.JSONDecodeError):
            return LLMBadResponse(f"{model}: stream sent invalid JSON: {exc.msg}", model=model)
        # An error event inside the stream (OpenRouter reports upstream failures this way).
        return LLMUnavailable(f"{model}: {exc}", model=model)


@dataclass
class _StreamState:
    requested_model: str
    started: float
    parts: list[str] = field(default_factory=list)
    answered_model: str | None = None
    finish_reason: str | None = None
    usage: WireUsage | None = None
    first_token_at: float | None = None

    def apply(self, chunk: WireChunk) -> str:
        """Fold a chunk into the state; returns its text."""
        self.answered_model = chunk.model or self.answered_model
        self.usage = chunk.usage or self.usage
        if not chunk.choices:
            return ""
        choice = chunk.choices[0]
        self.finish_reason = choice.finish_reason or self.finish_reason
        text = choice.delta.content or ""
        if text:
            if self.first_token_at is None:
                self.first_token_at = time.monotonic()
            self.parts.append(text)
        return text

    def completion(self, messages: Sequence[ChatMessage]) -> Completion:
        first_token_ms = None if self.first_token_at is None else (self.first_token_at - self.started) * 1000
        return _completion(
            text="".join(self.parts),
            requested_model=self.requested_model,
            answered_model=self.answered_model,
            usage=self.usage,
            messages=messages,
            started=self.started,
            finish_reason=self.finish_reason,
            first_token_ms=first_token_ms,
        )


# What sending a request or reading its stream can raise that becomes an LLMError.
_TRANSLATED = (openai.APIError, TimeoutError, json.JSONDecodeError, httpx2.TransportError)


class _StreamBody:
    """The chunks of a streamed response body, read as raw SSE."""

    def __init__(self, response: httpx2.Response) -> None:
        self._response = response
        self._events = event_data(response.aiter_lines())

    async def next_chunk(self, model: str) -> WireChunk | None:
        try:
            payload = await anext(self._events)
        except StopAsyncIteration:
            return None
        return parse_chunk(json.loads(payload), model=model)

    async def close(self) -> None:
        try:
            await self._events.aclose()
            await self._response.aclose()
        except Exception as exc:  # closing a broken connection must not hide the real outcome
            log.debug("llm.stream_close_failed", error=str(exc))


@dataclass
class _OpenStream:
    body: _StreamBody
    state: _StreamState
    first_text: str
    ended: bool


def _completion(
    *,
    text: str,
    requested_model: str,
    answered_model: str | None,
    usage: WireUsage | None,
    messages: Sequence[ChatMessage],
    started: float,
    finish_reason: str | None,
    first_token_ms: float | None = None,
) -> Completion:
    completion = Completion(
        text=text,
        model=answered_model or requested_model,
        prompt_tokens=usage.prompt_tokens if usage else estimate_prompt_tokens(messages),
        completion_tokens=usage.completion_tokens if usage else estimate_tokens(text),
        usage_estimated=usage is None,
        latency_ms=(time.monotonic() - started) * 1000,
        finish_reason=finish_reason,
        first_token_ms=first_token_ms,
    )
    metrics.llm_completed(completion.latency_ms, completion.prompt_tokens, completion.completion_tokens)
    return completion


def _request_body(
    model: str, messages: Sequence[ChatMessage], params: CompletionParams, *, stream: bool
) -> dict[str, object]:
    body: dict[str, object] = {
        "model": model,
        "messages": [{"role": m.role, "content": m.content} for m in messages],
    }
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    # None means "server default": leave the field out rather than send null.
    for name, value in (
        ("temperature", params.temperature),
        ("max_tokens", params.max_tokens),
        ("top_p", params.top_p),
    ):
        if value is not None:
            body[name] = value
    return body
