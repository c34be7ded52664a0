"""In a real browser: on the Live chats page staff take over a waiting conversation started through the API
and reply; the customer's WebSocket receives it, and the customer's typing and message appear live."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import expect
from sqlalchemy.ext.asyncio import AsyncSession
from websockets.asyncio.client import ClientConnection, connect

from answerdesk.main import create_app
from tests.browser import chromium, log_in
from tests.chat.live_support import ORIGIN, customer_headers, live_org
from tests.chat.support import API
from tests.conftest import make_settings
from tests.factories import PASSWORD
from tests.live import serve

pytestmark = pytest.mark.browser

LIVE_MS = 1_000  # "within a second"
MODEL_MS = 60_000  # the first customer message loads the sentiment model in the server


async def message_with(ws: ClientConnection, content: str) -> dict[str, Any]:
    while True:
        event: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if event["type"] == "message" and event["message"]["content"] == content:
            return event


async def test_staff_take_over_and_reply_reach_the_customer_live(
    database_url: str, tmp_path: Path, db: AsyncSession
) -> None:
    org = await live_org(db, "Anna")
    app = create_app(make_settings(database_url, tmp_path / "live"))
    with serve(app) as base:
        async with httpx.AsyncClient(base_url=base, timeout=60) as customer:
            started = await customer.post(
                API, headers=customer_headers(org), json={"customer": {"name": "Carla"}}
            )
            cid, token = started.json()["id"], started.json()["token"]
            assert (
                await customer.post(f"{API}/{cid}/handoff", headers=customer_headers(org, token))
            ).status_code == 200
            ws_url = f"{base.replace('http', 'ws')}{API}/{cid}/live?key={org.public_key}&token={token}"
            async with connect(ws_url, origin=ORIGIN) as ws, chromium() as browser:  # type: ignore[arg-type]
                page = await (await browser.new_context(viewport={"width": 1366, "height": 900})).new_page()
                await page.goto(f"{base}/admin/live")
                await log_in(page, org.staff_email, PASSWORD)
                await page.wait_for_url(f"{base}/admin/live")
                row = page.get_by_test_id("live-row").filter(has_text="Carla")
                await expect(row).to_contain_text("waiting")
                await row.locator("a").click()
                await page.get_by_role("button", name="Take over").click()
                await expect(page.get_by_test_id("live-status")).to_have_text("With staff")
                joined = await message_with(ws, "Anna joined the chat")
                assert joined["message"]["sender"] == "system"

                await page.get_by_label("Reply").fill("Hi Carla, I'm looking at it now.")
                await page.get_by_test_id("live-send").click()
                reply = await message_with(ws, "Hi Carla, I'm looking at it now.")
                assert reply["message"]["sender"] == "staff"

                await ws.send(json.dumps({"type": "typing", "typing": True}))
                await expect(page.get_by_test_id("live-typing")).to_be_visible(timeout=LIVE_MS)
                posted = await customer.post(
                    f"{API}/{cid}/messages",
                    headers=customer_headers(org, token),
                    json={"content": "Thanks! <script>alert(1)</script>"},
                )
                assert posted.status_code == 200 and posted.json()["message"] is None  # the bot stays silent
                last = page.get_by_test_id("live-message").last
                await expect(last).to_contain_text("Thanks! <script>alert(1)</script>", timeout=LIVE_MS)
                await expect(page.get_by_test_id("live-typing")).to_be_hidden()
                await page.screenshot(path="/tmp/shot-live-chats.png", full_page=True)
