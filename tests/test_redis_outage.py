"""Redis stopped mid-traffic: chat keeps answering, limits and live events degrade to this process with a
warning, staff sign-in says it is unavailable; when Redis is back on the same port everything reconnects.

A private redis-server on a free port, never the shared one.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import structlog
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from answerdesk.main import create_app
from answerdesk.runtime import Runtime
from tests.chat.live_support import ORIGIN, LiveOrg, customer_headers, live_org
from tests.chat.support import API
from tests.conftest import make_settings
from tests.factories import logged_in
from tests.live import free_port, serve

RECV_TIMEOUT = 10.0

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")


class PrivateRedis:
    def __init__(self, port: int, directory: Path) -> None:
        self.port = port
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        client = redis.Redis.from_url(self.url)
        while True:
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(free_port(), tmp_path)
    server.start()
    try:
        yield server
    finally:
        if server.process is not None and server.process.poll() is None:
            server.kill()


@pytest.fixture
def served(database_url: str, tmp_path: Path, private_redis: PrivateRedis) -> Iterator[tuple[FastAPI, str]]:
    application = create_app(make_settings(database_url, tmp_path / "server", redis_url=private_redis.url))
    with serve(application) as base:
        yield application, base


def ws_url(base: str, org: LiveOrg, cid: str, token: str, after: int = 0) -> str:
    return (
        f"{base.replace('http://', 'ws://')}{API}/{cid}/live?key={org.public_key}&token={token}&after={after}"
    )


async def receive_reply(ws: ClientConnection, reply: dict[str, Any]) -> None:
    """The customer's message then the bot's arrive live (after any replayed ones)."""
    wanted = [reply["customer_message"]["seq"], reply["message"]["seq"]]
    seen: list[int] = []
    while seen[-2:] != wanted:
        event: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), RECV_TIMEOUT))
        if event["type"] == "message":
            seen.append(event["message"]["seq"])


async def ask(http: httpx.AsyncClient, org: LiveOrg, cid: str, token: str, text: str) -> dict[str, Any]:
    response = await http.post(
        f"{API}/{cid}/messages", headers=customer_headers(org, token), json={"content": text}
    )
    assert response.status_code == 200, response.text
    reply: dict[str, Any] = response.json()
    assert reply["message"]["sender"] == "bot"
    return reply


async def wait_for(condition: Any, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def test_chat_survives_redis_stopping_and_reconnects_when_it_returns(
    served: tuple[FastAPI, str],
    private_redis: PrivateRedis,
    db: AsyncSession,
) -> None:
    with structlog.testing.capture_logs() as logs:
        await _outage_and_return(served, private_redis, db)
    events = {e["event"] for e in logs if e.get("log_level") == "warning"}
    for component in ("ratelimit", "events"):
        assert f"{component}.redis_unavailable" in events
        assert f"{component}.redis_recovered" in events
    assert "sessions.redis_unavailable" in events


async def _outage_and_return(
    served: tuple[FastAPI, str], private_redis: PrivateRedis, db: AsyncSession
) -> None:
    application, base = served
    runtime: Runtime = application.state.runtime
    org = await live_org(db)
    async with (
        httpx.AsyncClient(base_url=base, timeout=60) as http,
        httpx.AsyncClient(base_url=base, timeout=60) as staff_http,
    ):
        staff = await logged_in(staff_http, org.staff_email)
        started = await http.post(API, headers=customer_headers(org))
        cid, token = started.json()["id"], started.json()["token"]

        # Redis up: answers, and live events go through Redis pub/sub.
        async with connect(ws_url(base, org, cid, token), origin=ORIGIN) as ws:  # type: ignore[arg-type]
            reply = await ask(http, org, cid, token, "How do I change my nameservers?")
            await receive_reply(ws, reply)

            private_redis.kill()
            # The subscription's connection is gone: the bus degrades and ends the socket (the client
            # reconnects and replays from the database).
            with pytest.raises(ConnectionClosed):
                while True:
                    await asyncio.wait_for(ws.recv(), RECV_TIMEOUT)

        # Redis down: chat keeps answering (limits counted in memory), events reach this process's sockets.
        last = reply["message"]["seq"]
        async with connect(ws_url(base, org, cid, token, after=last), origin=ORIGIN) as ws:  # type: ignore[arg-type]
            for n in range(3):
                reply = await ask(http, org, cid, token, f"Is my e-mail working? ({n})")
                await receive_reply(ws, reply)
            assert runtime.limiter.degraded
            assert runtime.events.degraded  # type: ignore[attr-defined]
            handoff = await http.post(f"{API}/{cid}/handoff", headers=customer_headers(org, token))
            assert handoff.status_code == 200, handoff.text

            # Staff sessions live in Redis: not trusted while it is unreachable (503, the error shape).
            account = await staff.client.get("/api/v1/organization", headers=staff.headers())
            assert account.status_code == 503
            assert account.json()["error"]["code"] == "unavailable"

            private_redis.start()  # same port, empty: the bus notices and ends local-only sockets
            with pytest.raises(ConnectionClosed):
                while True:
                    await asyncio.wait_for(ws.recv(), RECV_TIMEOUT)
        await wait_for(lambda: not runtime.events.degraded, "the event bus to reconnect")  # type: ignore[attr-defined]

        # Back through Redis: a reconnecting client gets live events again, limits are shared again.
        last = reply["message"]["seq"]
        async with connect(ws_url(base, org, cid, token, after=last), origin=ORIGIN) as ws:  # type: ignore[arg-type]
            reply = await ask(http, org, cid, token, "Thanks, and my SSL certificate?")
            await receive_reply(ws, reply)
        # The limiter tries Redis again at most every couple of seconds, on the next request.
        deadline = time.monotonic() + 20
        while runtime.limiter.degraded:
            assert time.monotonic() < deadline, "rate limits did not go back to Redis"
            typing = await http.post(
                f"{API}/{cid}/typing", headers=customer_headers(org, token), json={"typing": False}
            )
            assert typing.status_code == 204
            await asyncio.sleep(0.2)

        # A new sign-in works once Redis is back (the restarted Redis kept no sessions).
        async with httpx.AsyncClient(base_url=base, timeout=60) as again:
            staff = await logged_in(again, org.staff_email)
            assert (await staff.client.get("/api/v1/organization")).status_code == 200
