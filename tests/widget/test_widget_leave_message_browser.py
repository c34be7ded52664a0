"""In real Chromium: with nobody online, "Talk to a human" offers a form whose message becomes a ticket."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Route, expect
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import ApiKeyKind
from answerdesk.main import create_app
from answerdesk.runtime import Runtime
from answerdesk.widget.service import WidgetService
from answerdesk.widget.settings import WidgetSettings
from tests.browser import chromium
from tests.conftest import make_settings
from tests.factories import bearer, make_key, make_org
from tests.live import free_port, serve
from tests.widget.test_widget_browser import ANSWER_DEADLINE_MS, host_site, open_widget

pytestmark = pytest.mark.browser

QUESTION = "Can you move my hosting plan to another data centre?"
LEFT = "Please move my plan to Frankfurt before Friday."


async def test_with_nobody_online_the_customer_leaves_a_message_that_becomes_a_ticket(
    database_url: str, tmp_path: Path, db: AsyncSession, runtime: Runtime
) -> None:
    org = await make_org(db, "Offline Hosting")
    await WidgetService(db).replace(org.id, WidgetSettings(prechat={"name": "optional", "email": "optional"}))
    await db.commit()
    host_port = free_port()
    key = await make_key(db, org, ApiKeyKind.public, origins=[f"http://127.0.0.1:{host_port}"])
    secret = await make_key(db, org)
    app = create_app(make_settings(database_url, tmp_path / "live"))
    with serve(app) as base, serve(host_site(base, key), host_port) as host:
        async with chromium() as browser:
            page = await browser.new_page()
            await page.goto(f"{host}/")
            await open_widget(page)
            prechat = page.get_by_role("form", name="Before we start")
            await prechat.get_by_label("Name").fill("Dana")
            await prechat.get_by_label("E-mail").fill("dana@example.net")
            await prechat.get_by_role("button", name="Start chat").click()
            box = page.get_by_role("textbox", name="Your message")
            await box.fill(QUESTION)
            await box.press("Enter")
            await expect(page.locator("answerdesk-chat .msg.bot[data-seq]")).to_have_count(
                1, timeout=ANSWER_DEADLINE_MS
            )

            await page.get_by_role("button", name="Talk to a human").click()
            await expect(page.get_by_text("Nobody from our team is online right now")).to_be_visible()
            form = page.get_by_role("form", name="Leave us a message")
            await expect(form).to_be_visible()
            await expect(box).to_be_hidden()
            message, email = form.get_by_label("Message"), form.get_by_label("E-mail")
            await expect(email).to_have_value("dana@example.net")  # from the pre-chat form
            await expect(message).to_be_focused()

            await message.press("Enter")  # Enter submits; an empty message is refused in place
            await expect(form.get_by_text("Write a message first.")).to_be_visible()
            await expect(message).to_have_attribute("aria-invalid", "true")
            await email.fill("dana@")
            await message.fill(LEFT)
            await message.press("Enter")
            await expect(form.get_by_text("Enter an e-mail address like name@example.com.")).to_be_visible()
            await expect(email).to_be_focused()
            await email.fill("dana@example.net")
            await page.screenshot(path="/tmp/shot-widget-leave-message.png")

            held = asyncio.Event()

            async def hold(route: Route) -> None:
                if route.request.method == "POST":
                    await held.wait()
                await route.continue_()

            await page.route(re.compile(r".*/leave-message$"), hold)
            await email.press("Enter")
            send = form.get_by_role("button", name="Send message")
            await expect(send).to_be_disabled()  # one click, one request, while it is on its way
            await expect(message).to_be_disabled()
            held.set()
            confirmation = page.locator("answerdesk-chat .msg.system[data-seq]").last
            await expect(confirmation).to_have_text(
                re.compile(
                    r"^Thanks — we've received your message and will reply by e-mail \(ticket #N\d{6}\)$"
                )
            )
            await expect(form).to_be_hidden()
            await expect(box).to_be_visible()
            number = re.search(r"#(N\d{6})", await confirmation.inner_text())
            assert number is not None

        async with httpx.AsyncClient(base_url=base) as api:
            queue = await api.get("/api/v1/tickets", params={"source": "native"}, headers=bearer(secret))
            assert queue.status_code == 200, queue.text
            [item] = queue.json()["items"]
            assert (item["tid"], item["client_name"], item["client_email"]) == (
                number.group(1),
                "Dana",
                "dana@example.net",
            )
            ticket = (await api.get(f"/api/v1/tickets/{item['id']}", headers=bearer(secret))).json()
            thread = "\n".join(m["content"] for m in ticket["messages"])
            assert QUESTION in thread and "Nobody from our team is online" in thread  # the transcript
            assert [m["content"] for m in ticket["messages"] if m["author"] == "customer"] == [LEFT]
