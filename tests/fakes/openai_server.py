"""Loopback OpenAI-compatible Chat Completions server with scripted faults, for tests and benchmarks.

Quick start::

    with FakeOpenAIServer(ttft=0.3) as fake:          # uvicorn on 127.0.0.1:<free port>
        client = AsyncOpenAI(base_url=fake.base_url, api_key="test")
        ...
        fake.last_request.headers["x-title"]

Endpoints: ``POST /v1/chat/completions`` and the same under ``/api/v1/`` (OpenRouter-style base URL).
Non-streaming requests get a ``chat.completion`` JSON body with ``usage``; ``"stream": true`` gets
SSE ``data: {chunk}`` events with ``choices[0].delta.content``, a usage chunk when
``stream_options.include_usage`` is set, then ``data: [DONE]``. ``max_tokens`` truncates the reply
(``finish_reason: "length"``).

Behaviour is scripted through the model name, so it also works when the fake runs in another
process: ``fake/<directive>[+<directive>...]`` (build it with :func:`fake_model`). Any other model
name gets the default reply. Directives:

========================  ==================================================================
``echo``                  reply with the prompt, one ``role: content`` line per message
``ttft-<N>ms``            wait N ms before the first token (before the body when not streaming)
``tokens-<N>ms``          wait N ms between tokens
``hang``                  never answer; wait until the client goes away
``<status>``              always answer with that HTTP error status (e.g. ``500``, ``429``)
``<status>-once``         that error for the first request with this model name, then succeed
``<status>-x<N>``         that error for the first N requests with this model name
``retry-after-<N>ms``     on errors send ``retry-after-ms: N`` and ``Retry-After: ceil(N/1000)``
                          (a 429 without it sends ``Retry-After: 1``)
``malformed``             truncated JSON body, or a garbage first SSE event when streaming
``malformed-after-<N>``   stream N tokens, then a garbage SSE event
``drop-after-<N>``        stream N tokens, then cut the connection without finishing
``garbage``               ``200 text/html`` page instead of JSON or SSE
``no-usage``              leave ``usage`` out (JSON body and final chunk)
``ok``                    nothing special (a well-behaved model under the ``fake/`` prefix)
========================  ==================================================================

Every request is recorded (:class:`RecordedRequest`: path, lower-cased headers, JSON body, outcome,
tokens sent). ``outcome == "disconnected"`` means the client closed the connection before the
server finished; tests wait for it with :meth:`FakeOpenAIServer.wait_for`.

Run standalone (e.g. for a benchmark): ``python -m tests.fakes.openai_server --port 8765 --ttft-ms 300``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import math
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any, Literal

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

DEFAULT_REPLY = "Hello! I am the fake model. Ask me anything about your account and I will do my best."
FAKE_PREFIX = "fake/"

Outcome = Literal["pending", "completed", "error", "disconnected", "dropped"]


def fake_model(*directives: str) -> str:
    """The model name that scripts the given behaviour: ``fake_model("429-once", "echo")``."""
    return FAKE_PREFIX + "+".join(directives)


@dataclass
class RecordedRequest:
    """One request as the fake saw it; ``outcome`` and ``tokens_sent`` update while it is served."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    received_at: float
    outcome: Outcome = "pending"
    status: int | None = None
    tokens_sent: int = 0
    finished_at: float | None = None

    @property
    def model(self) -> str:
        return str(self.body.get("model", ""))

    @property
    def stream(self) -> bool:
        return bool(self.body.get("stream", False))

    @property
    def messages(self) -> list[dict[str, Any]]:
        messages = self.body.get("messages", [])
        return messages if isinstance(messages, list) else []

    @property
    def client_disconnected(self) -> bool:
        return self.outcome == "disconnected"


@dataclass(frozen=True)
class Behaviour:
    """What the fake does for one request; parsed from the model name over the server's defaults."""

    reply: str = DEFAULT_REPLY
    ttft: float = 0.0
    token_delay: float = 0.0
    echo: bool = False
    hang: bool = False
    fail_status: int | None = None
    fail_times: int | None = None  # None: every request
    retry_after_ms: int | None = None
    malformed_after: int | None = None
    drop_after: int | None = None
    garbage: bool = False
    usage: bool = True


class UnknownDirective(ValueError):
    pass


_STATUS = re.compile(r"^(?P<status>[45]\d\d)(?:-(?P<once>once)|-x(?P<times>\d+))?$")
_MS = re.compile(r"^(?P<name>ttft|tokens|retry-after)-(?P<ms>\d+)ms$")
_AFTER = re.compile(r"^(?P<name>malformed|drop)-after-(?P<n>\d+)$")


def parse_behaviour(model: str, defaults: Behaviour) -> Behaviour:
    """Apply the ``fake/...`` directives of ``model`` to ``defaults``; other models get the defaults."""
    if not model.startswith(FAKE_PREFIX):
        return defaults
    behaviour = defaults
    for directive in filter(None, model[len(FAKE_PREFIX) :].split("+")):
        behaviour = _apply_directive(behaviour, directive)
    return behaviour


def _apply_directive(b: Behaviour, directive: str) -> Behaviour:
    flags: dict[str, Behaviour] = {
        "echo": replace(b, echo=True),
        "hang": replace(b, hang=True),
        "malformed": replace(b, malformed_after=0),
        "garbage": replace(b, garbage=True),
        "no-usage": replace(b, usage=False),
        "ok": b,
    }
    if directive in flags:
        return flags[directive]
    if m := _STATUS.match(directive):
        times = 1 if m["once"] else int(m["times"]) if m["times"] else None
        return replace(b, fail_status=int(m["status"]), fail_times=times)
    if m := _MS.match(directive):
        ms = int(m["ms"])
        if m["name"] == "ttft":
            return replace(b, ttft=ms / 1000)
        if m["name"] == "tokens":
            return replace(b, token_delay=ms / 1000)
        return replace(b, retry_after_ms=ms)
    if m := _AFTER.match(directive):
        n = int(m["n"])
        return replace(b, malformed_after=n) if m["name"] == "malformed" else replace(b, drop_after=n)
    raise UnknownDirective(f"unknown fake directive {directive!r}")


def split_tokens(text: str) -> list[str]:
    """Word-sized pieces with their leading whitespace, like a real tokenizer's deltas."""
    return re.findall(r"\s*\S+", text) or ([text] if text else [])


def count_prompt_tokens(messages: list[dict[str, Any]]) -> int:
    return sum(len(str(m.get("content", "")).split()) + 3 for m in messages)


class _DropConnection(Exception):
    """Raised after the response started so uvicorn aborts the connection mid-body."""


class _HideDrops(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, _DropConnection) and not isinstance(
            getattr(exc, "__cause__", None), _DropConnection
        )


class FakeOpenAIServer:
    """The fake's state (defaults, recorded requests) and its uvicorn thread.

    ``reply``, ``ttft`` and ``token_delay`` are the defaults for every request and may be changed
    between requests; :meth:`reset` restores the constructor values and forgets recorded requests.
    ``replies`` scripts the next requests' replies in order (a query rewrite, then the answer), before
    ``reply`` takes over again.
    """

    def __init__(
        self,
        *,
        reply: str = DEFAULT_REPLY,
        ttft: float = 0.0,
        token_delay: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self._initial = Behaviour(reply=reply, ttft=ttft, token_delay=token_delay)
        self.reply = reply
        self.replies: list[str] = []
        self.ttft = ttft
        self.token_delay = token_delay
        self._host = host
        self._port = port
        self._changed = threading.Condition()
        self._requests: list[RecordedRequest] = []
        self._seen: Counter[str] = Counter()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        routes = [
            Route(f"{prefix}/chat/completions", self._chat_completions, methods=["POST"])
            for prefix in ("/v1", "/api/v1")
        ]
        self.app = Starlette(routes=routes)

    # -- addresses ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``; only valid once started."""
        if self._socket is None:
            raise RuntimeError("the fake OpenAI server is not started")
        host, port = self._socket.getsockname()[:2]
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        """OpenAI-style base URL (``.../v1``) to give an OpenAI-compatible client."""
        return f"{self.url}/v1"

    @property
    def openrouter_base_url(self) -> str:
        """OpenRouter-style base URL (``.../api/v1``)."""
        return f"{self.url}/api/v1"

    # -- recorded requests -------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of the requests received since the last reset, oldest first."""
        with self._changed:
            return list(self._requests)

    @property
    def last_request(self) -> RecordedRequest:
        with self._changed:
            if not self._requests:
                raise AssertionError("the fake OpenAI server has received no request")
            return self._requests[-1]

    def requests_for(self, model: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.model == model]

    def reset(self) -> None:
        """Restore the constructor defaults and forget requests and ``-once`` counters."""
        with self._changed:
            self.reply = self._initial.reply
            self.replies.clear()
            self.ttft = self._initial.ttft
            self.token_delay = self._initial.token_delay
            self._requests.clear()
            self._seen.clear()
            self._changed.notify_all()

    def wait_for(
        self,
        predicate: Callable[[list[RecordedRequest]], bool],
        timeout: float = 5.0,
        what: str = "condition",
    ) -> list[RecordedRequest]:
        """Block until ``predicate(requests)`` holds; ``AssertionError`` after ``timeout`` seconds."""
        with self._changed:
            if not self._changed.wait_for(lambda: predicate(list(self._requests)), timeout=timeout):
                raise AssertionError(
                    f"fake OpenAI server: {what} not met within {timeout}s; requests: {self._requests!r}"
                )
            return list(self._requests)

    async def wait_for_async(
        self,
        predicate: Callable[[list[RecordedRequest]], bool],
        timeout: float = 5.0,
        what: str = "condition",
    ) -> list[RecordedRequest]:
        """:meth:`wait_for` without blocking the caller's event loop."""
        return await asyncio.to_thread(self.wait_for, predicate, timeout, what)

    def _record(self, request: RecordedRequest) -> None:
        with self._changed:
            self._requests.append(request)
            self._changed.notify_all()

    def _update(self, request: RecordedRequest, **changes: Any) -> None:
        with self._changed:
            for name, value in changes.items():
                setattr(request, name, value)
            if changes.get("outcome", "pending") != "pending":
                request.finished_at = time.monotonic()
            self._changed.notify_all()

    def _count(self, model: str) -> int:
        """How many requests with this model name came before this one (since the last reset)."""
        with self._changed:
            seen = self._seen[model]
            self._seen[model] += 1
            return seen

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, *, ready_timeout: float = 10.0) -> FakeOpenAIServer:
        """Serve on ``host``:a free port in a daemon thread; returns once it accepts connections."""
        if self._thread is not None:
            raise RuntimeError("the fake OpenAI server is already started")
        # Binding here (not in uvicorn) fixes the port before start, so there is no race for it.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self._host, self._port))
        self._socket = sock
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        logging.getLogger("uvicorn.error").addFilter(_HIDE_DROPS)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="fake-openai-server", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + ready_timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the fake OpenAI server thread died during start-up")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the fake OpenAI server did not start within {ready_timeout}s")
            time.sleep(0.005)
        return self

    def stop(self, *, timeout: float = 5.0) -> None:
        """Ask uvicorn to exit, cutting open connections after a short grace period."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout)
            if self._thread.is_alive():
                self._server.force_exit = True
                self._thread.join(timeout)
        if self._socket is not None:
            self._socket.close()
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- the endpoint ------------------------------------------------------------------------

    async def _chat_completions(self, request: Request) -> Response:
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            self._record(
                RecordedRequest(request.url.path, headers, {}, time.monotonic(), outcome="error", status=400)
            )
            return _error(400, "request body must be a JSON object", "invalid_request_error")
        record = RecordedRequest(request.url.path, headers, body, time.monotonic())
        self._record(record)
        with self._changed:
            reply = self.replies.pop(0) if self.replies else self.reply
        defaults = Behaviour(reply=reply, ttft=self.ttft, token_delay=self.token_delay)
        try:
            behaviour = parse_behaviour(record.model, defaults)
        except UnknownDirective as exc:
            self._update(record, outcome="error", status=400)
            return _error(400, str(exc), "invalid_request_error")
        if not isinstance(body.get("messages"), list) or not body.get("model"):
            self._update(record, outcome="error", status=400)
            return _error(400, "'model' and 'messages' are required", "invalid_request_error")
        if behaviour.fail_status is not None:
            seen = self._count(record.model)
            if behaviour.fail_times is None or seen < behaviour.fail_times:
                self._update(record, outcome="error", status=behaviour.fail_status)
                return _failure(behaviour)
        return _Scripted(self, record, behaviour)


_HIDE_DROPS = _HideDrops()


def _error(status: int, message: str, kind: str, headers: Mapping[str, str] | None = None) -> Response:
    return JSONResponse(
        {"error": {"message": message, "type": kind, "code": str(status)}}, status, headers=headers
    )


def _failure(b: Behaviour) -> Response:
    status = b.fail_status or 500
    headers: dict[str, str] = {}
    if b.retry_after_ms is not None:
        headers = {
            "retry-after-ms": str(b.retry_after_ms),
            "retry-after": str(math.ceil(b.retry_after_ms / 1000)),
        }
    elif status == 429:
        headers = {"retry-after": "1"}
    kind = (
        "rate_limit_error" if status == 429 else "server_error" if status >= 500 else "invalid_request_error"
    )
    return _error(status, f"scripted failure {status}", kind, headers)


class _Scripted(Response):
    """Plays a :class:`Behaviour` on the raw ASGI channel, watching for the client going away."""

    def __init__(self, server: FakeOpenAIServer, record: RecordedRequest, behaviour: Behaviour) -> None:
        super().__init__()
        self._server = server
        self._record = record
        self._b = behaviour
        self._gone = asyncio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        watcher = asyncio.create_task(self._watch(receive))
        try:
            outcome = await self._play(send)
        except _DropConnection:
            self._server._update(self._record, outcome="dropped")
            raise
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        # Trust what _play saw: once the last byte is handed over, a client leaving is not a cut.
        self._server._update(self._record, outcome=outcome)

    async def _watch(self, receive: Receive) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        self._gone.set()

    async def _pause(self, seconds: float | None) -> bool:
        """Sleep ``seconds`` (forever if None); False if the client went away meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._gone.wait(), seconds)
        return not self._gone.is_set()

    async def _play(self, send: Send) -> Outcome:
        b, body = self._b, self._record.body
        if b.hang:
            await self._pause(None)
            return "disconnected"
        tokens = split_tokens(_reply_text(b, self._record.messages))
        finish_reason = "stop"
        max_tokens = body.get("max_tokens") or body.get("max_completion_tokens")
        if isinstance(max_tokens, int) and 0 < max_tokens < len(tokens):
            tokens, finish_reason = tokens[:max_tokens], "length"
        usage = {
            "prompt_tokens": count_prompt_tokens(self._record.messages),
            "completion_tokens": len(tokens),
        }
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        if self._record.stream and not b.garbage:
            return await self._play_stream(send, tokens, finish_reason, usage)
        if not await self._pause(b.ttft):
            return "disconnected"
        if b.garbage:  # e.g. a proxy's error page, whether or not a stream was asked for
            await _send_whole(send, 200, "text/html", b"<html><body>502 Bad Gateway</body></html>")
        elif b.malformed_after is not None:
            await _send_whole(send, 200, "application/json", b'{"id": "chatcmpl-fake", "choices": [{"mess')
        else:
            completion = {
                **_envelope(self._record.model, "chat.completion"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "".join(tokens)},
                        "finish_reason": finish_reason,
                    }
                ],
            }
            if b.usage:
                completion["usage"] = usage
            await _send_whole(send, 200, "application/json", json.dumps(completion).encode())
            self._server._update(self._record, tokens_sent=len(tokens))
        self._server._update(self._record, status=200)
        return "completed"

    async def _play_stream(
        self, send: Send, tokens: list[str], finish_reason: str, usage: dict[str, int]
    ) -> Outcome:
        b, model = self._b, self._record.model
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")],
            }
        )
        self._server._update(self._record, status=200)
        include_usage = bool((self._record.body.get("stream_options") or {}).get("include_usage"))
        envelope = _envelope(model, "chat.completion.chunk")

        async def event(data: str) -> bool:
            if self._gone.is_set():
                return False
            await send(
                {"type": "http.response.body", "body": f"data: {data}\n\n".encode(), "more_body": True}
            )
            return True

        def chunk(delta: dict[str, str], finish: str | None = None) -> str:
            payload: dict[str, Any] = {
                **envelope,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            if include_usage:
                payload["usage"] = None
            return json.dumps(payload)

        if not await event(chunk({"role": "assistant", "content": ""})):
            return "disconnected"
        for sent, token in enumerate(tokens):
            if sent == b.malformed_after:
                await event('{"id": "chatcmpl-fake", "choices": [{"delta": {"content": "oops')
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return "completed"
            if sent == b.drop_after:
                raise _DropConnection
            delay = b.ttft if sent == 0 else b.token_delay
            if not await self._pause(delay) or not await event(chunk({"content": token})):
                return "disconnected"
            self._server._update(self._record, tokens_sent=sent + 1)
        if b.malformed_after is not None and b.malformed_after >= len(tokens):
            await event("{not json")
        if not await event(chunk({}, finish_reason)):
            return "disconnected"
        if include_usage and b.usage:
            await event(json.dumps({**envelope, "choices": [], "usage": usage}))
        if not await event("[DONE]"):
            return "disconnected"
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return "completed"


def _reply_text(b: Behaviour, messages: list[dict[str, Any]]) -> str:
    if b.echo:
        return "\n".join(f"{m.get('role', '')}: {m.get('content', '')}" for m in messages)
    return b.reply


def _envelope(model: str, kind: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-fake-{time.monotonic_ns()}",
        "object": kind,
        "created": int(time.time()),
        "model": model,
    }


async def _send_whole(send: Send, status: int, content_type: str, body: bytes) -> None:
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the fake OpenAI-compatible server in the foreground.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--ttft-ms", type=int, default=0, help="delay before the first token")
    parser.add_argument("--token-delay-ms", type=int, default=0, help="delay between tokens")
    parser.add_argument("--reply", default=DEFAULT_REPLY)
    args = parser.parse_args(argv)
    fake = FakeOpenAIServer(
        reply=args.reply,
        ttft=args.ttft_ms / 1000,
        token_delay=args.token_delay_ms / 1000,
        host=args.host,
        port=args.port,
    )
    with fake:
        print(f"fake OpenAI server: base URL {fake.base_url} (OpenRouter style: {fake.openrouter_base_url})")
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
