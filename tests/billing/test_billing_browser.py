"""In real Chromium: the Billing page with its banner, and the widget when the plan's answers are used up."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import expect
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import ApiKeyKind
from answerdesk.billing.service import AnswerQuota
from answerdesk.main import create_app
from answerdesk.runtime import Runtime
from tests.billing.support import put_on_plan
from tests.browser import chromium, log_in
from tests.chat.support import seed_demo_subset
from tests.conftest import make_settings
from tests.factories import PASSWORD, make_key, make_member, make_org
from tests.live import serve
from tests.widget.test_widget_browser import host_site, open_widget

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots/plans")
# This helper's port range (8110-8119).
APP_PORT, HOST_PORT = 8111, 8112


async def test_billing_page_and_banner(
    database_url: str, tmp_path: Path, db: AsyncSession, runtime: Runtime
) -> None:
    org = await make_org(db, "Blue Hosting")
    await make_member(db, org, email="billing-admin@example.com")
    await make_member(db, org, email="second@example.com")
    await put_on_plan(db, runtime.settings, org, "free")
    quota = AnswerQuota(runtime.sessionmaker, runtime.settings, runtime.jobs)
    for _ in range(85):
        await quota.reserve(org.id)
    await seed_demo_subset(runtime, org.id, ("dns.md",))
    SHOTS.mkdir(parents=True, exist_ok=True)
    with serve(create_app(make_settings(database_url, tmp_path / "live")), APP_PORT) as base:
        async with chromium() as browser:
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            await page.goto(f"{base}/admin/billing")
            await log_in(page, "billing-admin@example.com", PASSWORD)
            await page.wait_for_url(f"{base}/admin/billing")
            await expect(page.get_by_role("heading", name="Free plan")).to_be_visible()
            await expect(page.get_by_role("status")).to_contain_text("85% of this period's AI answers used")
            bar = page.get_by_role("progressbar", name="AI answers this period")
            await expect(bar).to_have_attribute("aria-valuenow", "85")
            width = await bar.locator("span").evaluate("el => el.getBoundingClientRect().width")
            total = await bar.evaluate("el => el.getBoundingClientRect().width")
            assert 0.8 < width / total < 0.9
            await page.screenshot(path=str(SHOTS / "billing-free-85.png"), full_page=True)
            await page.get_by_role("navigation", name="Main").get_by_role("link", name="Billing").click()
            await expect(page).to_have_url(f"{base}/admin/billing")


async def test_widget_offers_a_person_when_answers_are_used_up(
    database_url: str, tmp_path: Path, db: AsyncSession, runtime: Runtime
) -> None:
    org = await make_org(db, "Quota Hosting")
    await put_on_plan(db, runtime.settings, org, "free")  # keeps the branding; 100 answers
    quota = AnswerQuota(runtime.sessionmaker, runtime.settings, runtime.jobs)
    for _ in range(100):
        await quota.reserve(org.id)
    # Something to answer from: a question the knowledge base cannot answer is a "don't know", quota or not.
    await seed_demo_subset(runtime, org.id, ("dns.md",))
    key = await make_key(db, org, ApiKeyKind.public, origins=[f"http://127.0.0.1:{HOST_PORT}"])
    SHOTS.mkdir(parents=True, exist_ok=True)
    app = create_app(make_settings(database_url, tmp_path / "live", base_url=f"http://127.0.0.1:{APP_PORT}"))
    with serve(app, APP_PORT) as base, serve(host_site(base, key), HOST_PORT) as host:
        async with chromium() as browser:
            page = await browser.new_page(viewport={"width": 1280, "height": 860})
            await page.goto(f"{host}/")
            await open_widget(page)
            dialog = page.get_by_role("dialog", name="Chat with us")
            powered = dialog.get_by_role("link", name="Powered by Answerdesk")
            await expect(powered).to_be_visible()
            await expect(powered).to_have_attribute("href", f"{base}/")
            box = page.get_by_role("textbox", name="Your message")
            await box.fill("How do I point my domain to your nameservers?")
            await box.press("Enter")
            answer = page.locator("answerdesk-chat .msg.bot[data-seq]")
            await expect(answer).to_have_count(1, timeout=60_000)
            await expect(answer).to_contain_text("I can't answer right now")
            await expect(page.locator("answerdesk-chat .err")).to_be_hidden()  # a reply, not an error
            human = dialog.get_by_role("button", name="Talk to a human")
            await expect(human).to_be_visible()
            await page.screenshot(path=str(SHOTS / "widget-quota-reached.png"))
            await human.click()
            # Nobody from the team is online: the message form is offered.
            await expect(dialog.get_by_text(re.compile("Leave us a message"))).to_be_visible()
            await page.screenshot(path=str(SHOTS / "widget-quota-leave-message.png"))
