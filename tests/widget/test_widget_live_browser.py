"""In real Chromium: staff replies reach the widget live, and after the server restarts, exactly once."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.async_api import expect
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import ApiKeyKind, Role
from answerdesk.auth.service import MemberService
from answerdesk.main import create_app
from tests.browser import chromium
from tests.conftest import make_settings
from tests.factories import PASSWORD, logged_in, make_key, make_org
from tests.live import free_port, serve
from tests.widget.test_widget_browser import host_site, open_widget

pytestmark = pytest.mark.browser

RECONNECT_DEADLINE_MS = 20_000  # backoff starts at 0.5-1 s and doubles while the server is down


async def test_staff_takeover_and_replies_arrive_live_and_survive_a_server_restart(
    database_url: str, tmp_path: Path, db: AsyncSession
) -> None:
    org = await make_org(db, "Live Widget Hosting")
    await MemberService(db).create(org.id, "anna@example.com", Role.staff, name="Anna", password=PASSWORD)
    await db.commit()
    port, host_port = free_port(), free_port()
    key = await make_key(db, org, ApiKeyKind.public, origins=[f"http://127.0.0.1:{host_port}"])
    settings = make_settings(database_url, tmp_path / "live")
    with serve(host_site(f"http://127.0.0.1:{port}", key), host_port) as host:
        async with chromium() as browser:
            page = await browser.new_page()
            staff_bubbles = page.locator("answerdesk-chat .msg.staff[data-seq]")
            subtitle = page.locator("answerdesk-chat header .sub")
            with serve(create_app(settings), port) as base:
                await page.goto(f"{host}/")
                await open_widget(page)
                await page.get_by_role("button", name="Talk to a human").click()
                await expect(page.locator("answerdesk-chat .msg.system[data-seq]").first).to_be_visible()
                conversation_id = await page.evaluate(
                    f"JSON.parse(localStorage.getItem('answerdesk:{key}')).id"
                )

                async with httpx.AsyncClient(base_url=base) as staff:
                    headers = (await logged_in(staff, "anna@example.com")).headers()
                    taken = await staff.post(
                        f"/api/v1/conversations/{conversation_id}/takeover", headers=headers
                    )
                    assert taken.status_code == 200, taken.text
                    await expect(page.get_by_text("Anna joined the chat")).to_be_visible()
                    await expect(subtitle).to_have_text("Anna is here to help")
                    typing = await staff.post(
                        f"/api/v1/conversations/{conversation_id}/typing",
                        headers=headers,
                        json={"typing": True},
                    )
                    assert typing.status_code == 204
                    await expect(page.get_by_text("Anna is typing…")).to_be_visible()
                    replied = await staff.post(
                        f"/api/v1/conversations/{conversation_id}/replies",
                        headers=headers,
                        json={"content": "Hi, I am Anna. <b>not bold</b>"},
                    )
                    assert replied.status_code == 201, replied.text
                    await expect(staff_bubbles).to_have_count(1)
                    await expect(staff_bubbles.first).to_contain_text("Hi, I am Anna. <b>not bold</b>")
                    await expect(staff_bubbles.first.locator(".who")).to_have_text("Anna")

            await expect(subtitle).to_have_text("Reconnecting…", timeout=RECONNECT_DEADLINE_MS)
            with serve(create_app(settings), port) as base:
                async with httpx.AsyncClient(base_url=base) as staff:
                    headers = (await logged_in(staff, "anna@example.com")).headers()
                    again = await staff.post(
                        f"/api/v1/conversations/{conversation_id}/replies",
                        headers=headers,
                        json={"content": "Sorry, we had a hiccup. Still there?"},
                    )
                    assert again.status_code == 201
                    await expect(staff_bubbles).to_have_count(2, timeout=RECONNECT_DEADLINE_MS)
                    await expect(subtitle).to_have_text("Anna is here to help", timeout=RECONNECT_DEADLINE_MS)
                    seqs = await page.locator("answerdesk-chat .msg[data-seq]").evaluate_all(
                        "els => els.map(e => +e.dataset.seq)"
                    )
                    assert seqs == list(range(1, len(seqs) + 1)), seqs  # nothing lost, nothing twice

                    await page.get_by_role("button", name="End chat").click()
                    rating = page.get_by_role("form", name="Rate this chat")
                    await rating.get_by_role("radio", name="4 stars").check()
                    await rating.get_by_label("Comment (optional)").fill("Quick and kind")
                    await rating.get_by_role("button", name="Send rating").click()
                    await expect(page.get_by_text("Thank you for your feedback!")).to_be_visible()
                    read = await staff.get(f"/api/v1/conversations/{conversation_id}", headers=headers)
                    assert (read.json()["status"], read.json()["rating"]) == ("closed", 4)
                    assert read.json()["rating_comment"] == "Quick and kind"
                    await expect(
                        page.get_by_role("button", name=re.compile("Start a new chat"))
                    ).to_be_visible()
