"""Across processes: a customer connected to one server and staff to another, both on Redis, see each other's
messages within a second. Each server has its own Runtime (event bus, presence, limiter); they share only
Redis and the database, as two `answerdesk serve` processes do."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession
from websockets.asyncio.client import connect

from answerdesk.main import create_app
from tests.chat.live_support import ORIGIN, customer_headers, live_org
from tests.chat.support import API
from tests.conftest import REDIS_TEST_URL, make_settings
from tests.factories import logged_in
from tests.live import serve

DELIVERY_DEADLINE = 1.0
LIMITS = {
    "chat_start_limit_per_ip": "1000/minute",
    "chat_message_limit_per_ip": "1000/minute",
    "chat_signal_limit_per_ip": "1000/minute",
}


async def sse_events(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    buffer = ""
    async for chunk in response.aiter_text():
        buffer += chunk
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            data = [line.removeprefix("data: ") for line in block.splitlines() if line.startswith("data: ")]
            if data:
                yield json.loads(data[0])


async def test_customer_on_one_server_and_staff_on_another_see_each_other(
    database_url: str, tmp_path: Path, db: AsyncSession
) -> None:
    org = await live_org(db, "Anna")
    with ExitStack() as stack:
        base_a, base_b = (
            stack.enter_context(
                serve(
                    create_app(
                        make_settings(database_url, tmp_path / name, redis_url=REDIS_TEST_URL, **LIMITS)
                    )
                )
            )
            for name in ("a", "b")
        )
        async with (
            httpx.AsyncClient(base_url=base_a, timeout=30) as customer,
            httpx.AsyncClient(base_url=base_b, timeout=30) as staff_client,
        ):
            started = await customer.post(API, headers=customer_headers(org))
            cid, token = started.json()["id"], started.json()["token"]
            staff = await logged_in(staff_client, org.staff_email)
            # Staff watch the Live chats stream on server B…
            async with staff_client.stream("GET", "/admin/live/events") as staff_stream:
                assert staff_stream.status_code == 200
                staff_events = sse_events(staff_stream)
                # …and count as online for the customer on server A.
                handoff = await customer.post(f"{API}/{cid}/handoff", headers=customer_headers(org, token))
                assert handoff.json()["staff_online"] is True
                taken = await staff.client.post(f"{API}/{cid}/takeover", headers=staff.headers())
                assert taken.status_code == 200

                ws_url = f"{base_a.replace('http', 'ws')}{API}/{cid}/live?key={org.public_key}&token={token}"
                async with connect(ws_url, origin=ORIGIN) as ws:  # type: ignore[arg-type]
                    # Replay up to now: the waiting notice, the join, then the status.
                    while json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] != "status":
                        pass

                    # Customer (A) → staff (B).
                    sent = time.monotonic()
                    posted = await customer.post(
                        f"{API}/{cid}/messages",
                        headers=customer_headers(org, token),
                        json={"content": "Hi Anna!"},
                    )
                    assert posted.status_code == 200 and posted.json()["message"] is None
                    async with asyncio.timeout(10):
                        async for event in staff_events:
                            if event["type"] == "message" and event["message"]["content"] == "Hi Anna!":
                                break
                    customer_to_staff = time.monotonic() - sent - _post_time(posted)

                    # Staff (B) → customer (A).
                    sent = time.monotonic()
                    replied = await staff.client.post(
                        f"{API}/{cid}/replies", headers=staff.headers(), json={"content": "Hello from B"}
                    )
                    assert replied.status_code == 201
                    while True:
                        event = json.loads(await asyncio.wait_for(ws.recv(), 10))
                        if event["type"] == "message" and event["message"]["content"] == "Hello from B":
                            break
                    staff_to_customer = time.monotonic() - sent
    assert customer_to_staff < DELIVERY_DEADLINE, customer_to_staff
    assert staff_to_customer < DELIVERY_DEADLINE, staff_to_customer


def _post_time(response: httpx.Response) -> float:
    """The customer's POST includes the sentiment model's work; delivery is measured from its response."""
    return response.elapsed.total_seconds()
