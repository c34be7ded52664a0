"""Two real browsers: a customer in the widget on a host site asks for a human; staff on the Live chats page
take over and reply; each sees the other's messages live."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import expect
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import ApiKeyKind, Role
from answerdesk.auth.service import MemberService
from answerdesk.main import create_app
from tests.browser import chromium, log_in
from tests.conftest import make_settings
from tests.factories import PASSWORD, make_key, make_org
from tests.live import free_port, serve
from tests.widget.test_widget_browser import host_site, open_widget

pytestmark = pytest.mark.browser


async def test_customer_in_the_widget_and_staff_on_live_chats_talk_live(
    database_url: str, tmp_path: Path, db: AsyncSession
) -> None:
    org = await make_org(db, "Two Browsers Hosting")
    await MemberService(db).create(org.id, "anna@example.com", Role.staff, name="Anna", password=PASSWORD)
    await db.commit()
    host_port = free_port()
    key = await make_key(db, org, ApiKeyKind.public, origins=[f"http://127.0.0.1:{host_port}"])
    with (
        serve(create_app(make_settings(database_url, tmp_path / "live"))) as base,
        serve(host_site(base, key), host_port) as host,
    ):
        async with chromium() as browser:
            staff = await (await browser.new_context(viewport={"width": 1366, "height": 900})).new_page()
            await staff.goto(f"{base}/admin/live")
            await log_in(staff, "anna@example.com", PASSWORD)
            await staff.wait_for_url(f"{base}/admin/live")  # Anna is online from here on

            customer = await (await browser.new_context(viewport={"width": 1280, "height": 860})).new_page()
            await customer.goto(f"{host}/")
            await open_widget(customer)
            await customer.get_by_role("button", name="Talk to a human").click()
            await expect(customer.get_by_text("will join shortly")).to_be_visible()

            row = staff.get_by_test_id("live-row").filter(has_text="waiting").first
            await expect(row).to_be_visible()
            await row.locator("a").click()
            await staff.get_by_role("button", name="Take over").click()
            await expect(staff.get_by_test_id("live-status")).to_have_text("With staff")
            await expect(customer.get_by_text("Anna joined the chat")).to_be_visible()

            await staff.get_by_label("Reply").fill("Hi, Anna here. What can I do for you?")
            await staff.get_by_test_id("live-send").click()
            staff_bubble = customer.locator("answerdesk-chat .msg.staff[data-seq]")
            await expect(staff_bubble).to_contain_text("Hi, Anna here. What can I do for you?")

            box = customer.get_by_role("textbox", name="Your message")
            await box.fill("My site shows a 500 error since this morning.")
            await box.press("Enter")
            await expect(staff.get_by_test_id("live-message").last).to_contain_text(
                "My site shows a 500 error since this morning."
            )
            # The bot stayed silent after the takeover: only Anna's reply is a non-customer answer.
            await expect(customer.locator("answerdesk-chat .msg.bot[data-seq]")).to_have_count(0)
