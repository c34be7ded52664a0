"""In real Chromium: the widget's "Talk to a human" offer says how fast staff typically reply (in the
visitor's language), and the Live chats page shows the same figures with the active and waiting chats."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import expect
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import ApiKeyKind
from answerdesk.main import create_app
from answerdesk.runtime import Runtime
from tests.browser import chromium, log_in
from tests.chat.live_support import live_org
from tests.chat.test_chat_stats import _chat_with_waits
from tests.conftest import make_settings
from tests.factories import PASSWORD, make_key
from tests.live import free_port, serve
from tests.widget.test_widget_browser import host_site, open_widget

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/shots/learning")


async def test_offer_shows_the_typical_reply_time_and_the_live_page_the_counters(
    database_url: str, tmp_path: Path, db: AsyncSession, runtime: Runtime
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    org = await live_org(db, "Anna")
    # Staff answered waiting customers after about 3 and 4 minutes (median 3.5, shown as 4), rated 5 and 4.
    await _chat_with_waits(runtime, org, [3], timedelta(hours=3), rating=5)
    await _chat_with_waits(runtime, org, [4], timedelta(hours=2), rating=4)
    host_port = free_port()
    key = await make_key(db, org.org, ApiKeyKind.public, origins=[f"http://127.0.0.1:{host_port}"])
    app = create_app(make_settings(database_url, tmp_path / "live"))
    with serve(app) as base, serve(host_site(base, key), host_port) as host:
        async with chromium() as browser:
            staff = await (await browser.new_context(viewport={"width": 1366, "height": 860})).new_page()
            await staff.goto(f"{base}/admin/live")
            await log_in(staff, org.staff_email, PASSWORD)
            await staff.wait_for_url(f"{base}/admin/live")
            await expect(staff.get_by_test_id("counter-online")).to_have_text("1")
            await expect(staff.get_by_test_id("counter-reply")).to_have_text("4 min")
            await expect(staff.get_by_test_id("counter-rating")).to_have_text("4.5 ★")
            await expect(staff.get_by_test_id("counter-waiting")).to_have_text("0")

            # Anna has the Live chats page open: the visitor is told how fast she typically answers.
            customer = await (await browser.new_context(viewport={"width": 1280, "height": 800})).new_page()
            await customer.goto(f"{host}/")
            await open_widget(customer)
            eta = customer.locator("answerdesk-chat .bar .eta")
            await expect(eta).to_have_text("Typically replies in 4 minutes")
            human = customer.get_by_role("button", name="Talk to a human")
            assert await human.get_attribute("aria-describedby") == "ad-eta"
            await customer.screenshot(path=str(SHOTS / "widget-offer.png"))

            # In German for a German browser.
            german = await (await browser.new_context(locale="de-DE")).new_page()
            await german.goto(f"{host}/pricing")
            await german.get_by_role("button", name=re.compile("^Chat öffnen")).click()
            await expect(german.locator("answerdesk-chat .bar .eta")).to_have_text(
                "Antwortet meist innerhalb von 4 Minuten"
            )

            # Asking for a person: the offer (and its promise) goes; the Live page counts a waiting chat.
            await human.click()
            await expect(eta).to_be_hidden()
            await expect(staff.get_by_test_id("counter-waiting")).to_have_text("1")
            await expect(staff.get_by_test_id("live-row").first).to_contain_text("waiting")
            await staff.screenshot(path=str(SHOTS / "live-counters.png"))
