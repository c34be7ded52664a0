"""A load generator's HTTP/1.1 client: keep-alive connections over asyncio streams, nothing else.

Why not httpx: the load benches run on the server's own 2 cores, so the client's CPU is taken from the server.
httpx spent 3 to 7 ms of CPU per streamed chat message (bench/chat_concurrency.py, `--client httpx`), a
third to half of what the server spends; this client ~1 ms, closer to visitors on other machines, where they
are in production. It speaks only what the benches need: one request at a time per connection,
bodies with Content-Length or chunked, read whole or line by line (for server-sent events).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

MAX_LINE = 1 << 20


class LeanHTTPError(Exception):
    """The connection broke or the server broke the protocol."""


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    _connection: LeanConnection

    async def read(self) -> bytes:
        return b"".join([part async for part in self._connection.body(self.headers)])

    async def json(self) -> Any:
        return json.loads(await self.read())

    async def lines(self) -> AsyncIterator[str]:
        """The body's lines as they arrive, without their line ends."""
        pending = b""
        async for part in self._connection.body(self.headers):
            pending += part
            *complete, pending = pending.split(b"\n")
            for line in complete:
                yield line.rstrip(b"\r").decode()
        if pending:
            yield pending.decode()


@dataclass
class LeanConnection:
    host: str
    port: int
    default_headers: Mapping[str, str] = field(default_factory=dict)
    _reader: asyncio.StreamReader | None = None
    _writer: asyncio.StreamWriter | None = None
    idle_since: float = 0.0
    reusable: bool = True

    @classmethod
    async def open(cls, base_url: str, headers: Mapping[str, str] | None = None) -> LeanConnection:
        parts = urlsplit(base_url)
        connection = cls(parts.hostname or "127.0.0.1", parts.port or 80, dict(headers or {}))
        connection._reader, connection._writer = await asyncio.open_connection(
            connection.host, connection.port, limit=MAX_LINE
        )
        connection.idle_since = time.monotonic()
        return connection

    async def request(
        self, method: str, path: str, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> Response:
        """Sends the request and reads the status line and headers; the body is the caller's to read."""
        assert self._writer is not None and self._reader is not None
        payload = b"" if body is None else json.dumps(body).encode()
        all_headers = {
            "Host": f"{self.host}:{self.port}",
            **self.default_headers,
            **(headers or {}),
            "Content-Length": str(len(payload)),
        }
        if body is not None:
            all_headers["Content-Type"] = "application/json"
        head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in all_headers.items())
        self._writer.write(head.encode() + b"\r\n" + payload)
        try:
            status_line = await self._reader.readuntil(b"\r\n")
            _, status, _ = status_line.decode().split(" ", 2)
            response_headers: dict[str, str] = {}
            while (line := await self._reader.readuntil(b"\r\n")) != b"\r\n":
                name, _, value = line.decode().partition(":")
                response_headers[name.strip().lower()] = value.strip()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError) as exc:
            self.reusable = False
            raise LeanHTTPError(f"{type(exc).__name__}: {exc}") from exc
        self.reusable = response_headers.get("connection", "").lower() != "close"
        return Response(int(status), response_headers, self)

    async def body(self, headers: Mapping[str, str]) -> AsyncIterator[bytes]:
        assert self._reader is not None
        reader = self._reader
        try:
            if headers.get("transfer-encoding", "").lower() == "chunked":
                while True:
                    size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                    if size == 0:
                        await reader.readuntil(b"\r\n")  # no trailers are sent to us
                        break
                    chunk = await reader.readexactly(size + 2)
                    yield chunk[:-2]
            elif "content-length" in headers:
                yield await reader.readexactly(int(headers["content-length"]))
            else:  # the body runs to the end of the connection
                self.reusable = False
                while part := await reader.read(65536):
                    yield part
        except (asyncio.IncompleteReadError, ConnectionError, ValueError) as exc:
            self.reusable = False
            raise LeanHTTPError(f"{type(exc).__name__}: {exc}") from exc
        self.idle_since = time.monotonic()

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(ConnectionError):
                await self._writer.wait_closed()
