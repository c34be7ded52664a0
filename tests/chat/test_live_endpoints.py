"""Live endpoints on a real server: the WebSocket handshake's origin and token checks, replay after a
reconnect without loss or duplicates, SSE framing and heartbeats, and rate limits (429 + Retry-After)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from answerdesk.main import create_app
from tests.chat.live_support import ORIGIN, LiveOrg, customer_headers, live_org
from tests.chat.support import API
from tests.conftest import make_settings
from tests.factories import LoggedIn, logged_in
from tests.live import serve

RECV_TIMEOUT = 10.0


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[str]:
    app = create_app(make_settings(database_url, tmp_path / "server", live_heartbeat_seconds=0.3))
    with serve(app) as base:
        yield base


@pytest.fixture
async def http(server: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server, timeout=30) as c:
        yield c


def ws_url(base: str, cid: str, key: str, token: str, after: int = 0) -> str:
    return f"{base.replace('http://', 'ws://')}{API}/{cid}/live?key={key}&token={token}&after={after}"


async def start(http: httpx.AsyncClient, org: LiveOrg) -> tuple[str, str]:
    response = await http.post(API, headers=customer_headers(org))
    assert response.status_code == 201, response.text
    return response.json()["id"], response.json()["token"]


async def staff_reply(staff: LoggedIn, cid: str, text: str) -> int:
    response = await staff.client.post(
        f"{API}/{cid}/replies", headers=staff.headers(), json={"content": text}
    )
    assert response.status_code == 201, response.text
    seq: int = response.json()["seq"]
    return seq


async def next_event(ws: ClientConnection, kind: str | None = None) -> dict[str, Any]:
    while True:
        event: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), RECV_TIMEOUT))
        if kind is None or event["type"] == kind:
            return event


async def test_websocket_refuses_other_origins_and_unknown_keys(
    server: str, http: httpx.AsyncClient, db: AsyncSession
) -> None:
    org = await live_org(db)
    cid, token = await start(http, org)
    with pytest.raises(InvalidStatus) as refused:
        async with connect(ws_url(server, cid, org.public_key, token), origin="https://evil.example"):  # type: ignore[arg-type]
            pass
    assert refused.value.response.status_code == 403
    assert json.loads(refused.value.response.body or b"{}")["error"]["code"] == "origin_not_allowed"
    with pytest.raises(InvalidStatus) as unknown:
        async with connect(ws_url(server, cid, "ad_pk_nope", token), origin=ORIGIN):  # type: ignore[arg-type]
            pass
    assert unknown.value.response.status_code == 401


async def test_websocket_with_a_wrong_token_closes_4404(
    server: str, http: httpx.AsyncClient, db: AsyncSession
) -> None:
    org = await live_org(db)
    cid, _ = await start(http, org)
    for conversation, token in ((cid, "wrong-token"), (str(uuid.uuid4()), "wrong-token")):
        async with connect(ws_url(server, conversation, org.public_key, token), origin=ORIGIN) as ws:  # type: ignore[arg-type]
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), RECV_TIMEOUT)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4404


async def test_reconnect_replays_what_was_missed_without_duplicates(
    server: str, http: httpx.AsyncClient, db: AsyncSession
) -> None:
    org = await live_org(db, "Anna")
    cid, token = await start(http, org)
    async with httpx.AsyncClient(base_url=server, timeout=30) as staff_client:
        staff = await logged_in(staff_client, org.staff_email)
        async with connect(ws_url(server, cid, org.public_key, token), origin=ORIGIN) as ws:  # type: ignore[arg-type]
            assert (await next_event(ws))["type"] == "status"
            await staff_reply(staff, cid, "one")  # taking over posts "Anna joined the chat" first
            events = [await next_event(ws) for _ in range(3)]
            joined, status, one = events  # the join, then the new status, then the reply
            assert joined["message"]["content"] == "Anna joined the chat"
            assert status == {
                "type": "status",
                "status": "human",
                "waiting": False,
                "handoff": False,
                "agent": "Anna",
            }
            assert one["message"]["content"] == "one"
            await ws.send(json.dumps({"type": "seen", "seq": one["message"]["seq"]}))
        last = one["message"]["seq"]
        await staff_reply(staff, cid, "two")  # while the customer is away
        async with connect(ws_url(server, cid, org.public_key, token, after=last), origin=ORIGIN) as ws:  # type: ignore[arg-type]
            replayed = await next_event(ws)
            assert replayed["type"] == "message" and replayed["message"]["content"] == "two"
            assert (await next_event(ws))["type"] == "status"  # the replay ends with the current status
            await staff_reply(staff, cid, "three")
            seqs = [replayed["message"]["seq"]]
            event = await next_event(ws, "message")
            seqs.append(event["message"]["seq"])
            assert event["message"]["content"] == "three"
        assert seqs == [last + 1, last + 2]
        conversation = (await http.get(f"{API}/{cid}", headers=customer_headers(org, token))).json()
        assert [m["seq"] for m in conversation["messages"]] == [1, 2, 3, 4]


async def test_websocket_typing_reaches_staff_and_staff_typing_reaches_customer(
    server: str, http: httpx.AsyncClient, db: AsyncSession
) -> None:
    org = await live_org(db, "Anna")
    cid, token = await start(http, org)
    async with httpx.AsyncClient(base_url=server, timeout=30) as staff_client:
        staff = await logged_in(staff_client, org.staff_email)
        async with connect(ws_url(server, cid, org.public_key, token), origin=ORIGIN) as ws:  # type: ignore[arg-type]
            await next_event(ws, "status")
            response = await staff.client.post(
                f"{API}/{cid}/typing", headers=staff.headers(), json={"typing": True}
            )
            assert response.status_code == 204
            typing = await next_event(ws, "typing")
            assert typing == {"type": "typing", "side": "staff", "typing": True, "name": "Anna"}


async def test_sse_replays_then_streams_with_heartbeats(
    server: str, http: httpx.AsyncClient, db: AsyncSession
) -> None:
    org = await live_org(db)
    cid, token = await start(http, org)
    async with httpx.AsyncClient(base_url=server, timeout=30) as staff_client:
        staff = await logged_in(staff_client, org.staff_email)
        await staff_reply(staff, cid, "before you connected")
        headers = customer_headers(org, token)
        async with http.stream("GET", f"{API}/{cid}/events?after=1", headers=headers) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            blocks: list[str] = []
            buffer = ""
            replied = False

            async def read() -> None:
                nonlocal buffer, replied
                async for chunk in response.aiter_text():
                    buffer += chunk
                    while "\n\n" in buffer:
                        block, buffer = buffer.split("\n\n", 1)
                        blocks.append(block)
                        # Idle after the replay: a heartbeat comes, then the live message.
                        if block == ": ping" and not replied:
                            replied = True
                            await staff_reply(staff, cid, "live")
                        if block.startswith("id: 3"):
                            return

            await asyncio.wait_for(read(), RECV_TIMEOUT)
    assert blocks[0] == "retry: 2000"
    assert blocks[1].splitlines()[:2] == ["id: 2", "event: message"]
    first = json.loads(blocks[1].splitlines()[2].removeprefix("data: "))
    assert first["type"] == "message" and first["message"]["content"] == "before you connected"
    assert ": ping" in blocks  # heartbeat comments while nothing happened (0.3 s in this test)
    assert blocks[-1].splitlines()[1] == "event: message" and '"live"' in blocks[-1]
    message_ids = [b.splitlines()[0] for b in blocks if "event: message" in b]
    assert message_ids == ["id: 2", "id: 3"]  # seq 1 (the join) was before `after`


async def test_rate_limits_answer_429_with_retry_after(
    database_url: str, tmp_path: Path, db: AsyncSession
) -> None:
    org = await live_org(db)
    app = create_app(
        make_settings(
            database_url,
            tmp_path / "limited",
            chat_start_limit_per_ip="2/minute",
            chat_signal_limit_per_ip="2/minute",
            chat_limit_per_key="3/minute",
        )
    )
    with serve(app) as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            cid, token = await start(http, org)
            await start(http, org)
            refused = await http.post(API, headers=customer_headers(org))
            assert refused.status_code == 429
            assert refused.json()["error"]["code"] == "rate_limited"
            assert 0 < int(refused.headers["Retry-After"]) <= 60
            # A server with a secret key speaks for many visitors: not limited per IP.
            secret = {"Authorization": f"Bearer {org.secret_key}"}
            assert (await http.post(API, headers=secret)).status_code == 201

            url = ws_url(base, cid, org.public_key, token)
            for _ in range(2):
                async with connect(url, origin=ORIGIN) as ws:  # type: ignore[arg-type]
                    await next_event(ws, "status")
            with pytest.raises(InvalidStatus) as limited:
                async with connect(url, origin=ORIGIN):  # type: ignore[arg-type]
                    pass
            assert limited.value.response.status_code == 429
            assert int(limited.value.response.headers["Retry-After"]) > 0


async def test_per_key_limit_holds_across_ips(database_url: str, tmp_path: Path, db: AsyncSession) -> None:
    org = await live_org(db)
    app = create_app(make_settings(database_url, tmp_path / "perkey", chat_limit_per_key="3/minute"))
    async with app.router.lifespan_context(app):
        codes = []
        for i in range(4):
            transport = httpx.ASGITransport(app=app, client=(f"198.51.100.{i + 1}", 5000))
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                codes.append((await c.post(API, headers=customer_headers(org))).status_code)
    assert codes == [201, 201, 201, 429]
