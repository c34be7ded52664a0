"""A loopback Sentry ingest endpoint: accepts envelopes at /api/<project>/envelope/ and keeps their items."""

from __future__ import annotations

import gzip
import json
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.live import free_port


@dataclass
class Envelope:
    project: str
    headers: dict[str, Any]
    items: list[tuple[dict[str, Any], bytes]]
    raw: bytes  # the decompressed body, exactly as it would reach Sentry

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(payload) for header, payload in self.items if header.get("type") == "event"]


@dataclass
class FakeSentry:
    envelopes: list[Envelope] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    base_url: str = ""

    def dsn(self, project: str = "42") -> str:
        return f"{self.base_url.replace('://', '://public-key@')}/{project}"

    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            return [e for envelope in self.envelopes for e in envelope.events()]

    def wait_for_events(self, count: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(events := self.events()) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"Sentry received {len(events)} events, expected {count}")
            time.sleep(0.02)
        return events

    def raw_bodies(self) -> bytes:
        with self._lock:
            return b"\n".join(e.raw for e in self.envelopes)

    async def _envelope(self, request: Request) -> Response:
        body = await request.body()
        encoding = request.headers.get("content-encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        elif encoding == "br":
            import brotli  # sentry-sdk compresses with brotli only when it is installed

            body = brotli.decompress(body)
        elif encoding:
            return JSONResponse({"detail": f"unsupported encoding {encoding}"}, 415)
        envelope = _parse(request.path_params["project"], body)
        with self._lock:
            self.envelopes.append(envelope)
        return JSONResponse({"id": envelope.headers.get("event_id")})


def _parse(project: str, body: bytes) -> Envelope:
    """Envelope format: a header line, then for each item a header line and its payload."""
    lines = body.split(b"\n")
    headers = json.loads(lines[0])
    items: list[tuple[dict[str, Any], bytes]] = []
    rest = b"\n".join(lines[1:])
    while rest.strip():
        header_line, _, rest = rest.partition(b"\n")
        item_header = json.loads(header_line)
        length = item_header.get("length")
        if length is None:
            payload, _, rest = rest.partition(b"\n")
        else:
            payload, rest = rest[:length], rest[length + 1 :]
        items.append((item_header, payload))
    return Envelope(project, headers, items, body)


@contextmanager
def serve_fake_sentry() -> Iterator[FakeSentry]:
    fake = FakeSentry()
    app = Starlette(routes=[Route("/api/{project}/envelope/", fake._envelope, methods=["POST"])])
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("fake Sentry did not start")
        time.sleep(0.02)
    fake.base_url = f"http://127.0.0.1:{port}"
    try:
        yield fake
    finally:
        server.should_exit = True
        thread.join(timeout=10)
