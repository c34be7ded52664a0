"""The customer's language in the admin (itself in English): badges on Chats transcripts and Live chats."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.async_api import expect
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.main import create_app
from answerdesk.runtime import Runtime
from tests.browser import chromium, log_in
from tests.chat.live_support import customer_says, live_org, start_conversation
from tests.conftest import make_settings
from tests.factories import PASSWORD, logged_in
from tests.live import serve


async def test_staff_see_the_customers_language(
    db: AsyncSession, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    org = await live_org(db, "Anna")
    cid, token = await start_conversation(runtime, org)
    await customer_says(runtime, org, cid, token, "Hello, how do I change my nameservers?")
    await customer_says(runtime, org, cid, token, "Entschuldigung, können wir auf Deutsch weitermachen?")
    await logged_in(client, org.staff_email)

    transcript = (await client.get(f"/admin/chats/{cid}")).text
    assert (
        '<span class="badge lang" title="Detected from the customer\'s messages">DE</span> German'
        in transcript
    )
    # The earlier message, in another language than the conversation's now, is marked as such.
    assert '<span class="badge lang" title="English">EN</span>' in transcript
    assert "Das tut mir leid" in transcript  # the bot answered the German message in German

    pane = (await client.get(f"/admin/live/{cid}")).text
    assert 'data-testid="live-language">DE</span>' in pane and 'data-language="de"' in pane
    listing = (await client.get("/admin/live/list?view=active")).text
    assert '<span class="badge lang" title="Writes in German">DE</span>' in listing


@pytest.mark.browser
async def test_language_badges_in_the_browser(
    database_url: str, tmp_path: Path, db: AsyncSession, runtime: Runtime
) -> None:
    org = await live_org(db, "Anna")
    cid, token = await start_conversation(runtime, org)
    await customer_says(runtime, org, cid, token, "Hola, ¿cómo cambio los servidores DNS de mi dominio?")
    app = create_app(make_settings(database_url, tmp_path / "live"))
    with serve(app) as base:
        async with chromium() as browser:
            page = await browser.new_page(viewport={"width": 1280, "height": 800})
            await page.goto(f"{base}/admin/live?c={cid}")
            await log_in(page, org.staff_email, PASSWORD)
            await page.get_by_test_id("live-row").get_by_role("link").click()
            await expect(page.get_by_test_id("live-language")).to_have_text("ES")
            await expect(page.get_by_test_id("live-language")).to_have_attribute("title", "Writes in Spanish")
            await page.screenshot(path="/tmp/shot-live-language.png")
            await page.goto(f"{base}/admin/chats/{cid}")
            await expect(page.locator(".chat-facts").get_by_text("Spanish")).to_be_visible()
            await page.screenshot(path="/tmp/shot-chat-language.png")
