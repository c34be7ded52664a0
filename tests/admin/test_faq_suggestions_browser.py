"""In a real browser: the Tickets page suggests an FAQ when three approved replies answer the same kind of
question, and one click makes it."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.async_api import expect
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import Role
from answerdesk.main import create_app
from answerdesk.runtime import Runtime
from tests.browser import chromium, log_in
from tests.conftest import make_settings
from tests.factories import PASSWORD, bearer, make_key, make_member, make_org
from tests.live import serve
from tests.tickets.native import native_ticket
from tests.tickets.support import Org
from tests.tickets.test_faq import faqs_of
from tests.tickets.test_learning import WORDPRESS, WORDPRESS_REPLY, reply

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/shots/learning")


async def test_three_alike_approved_replies_become_an_faq_in_one_click(
    database_url: str, tmp_path: Path, db: AsyncSession, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    organization = await make_org(db, "Suggesting Hosting")
    await make_member(db, organization, Role.staff, email="faq-browser@example.com")
    org = Org(organization.id, bearer(await make_key(db, organization)))
    for subject, message in WORDPRESS:
        ticket = await native_ticket(runtime, org.id, message, subject=subject)
        await reply(client, org, ticket.id, WORDPRESS_REPLY)
    app = create_app(make_settings(database_url, tmp_path / "live"))
    with serve(app) as base:
        async with chromium() as browser:
            page = await (await browser.new_context(viewport={"width": 1366, "height": 900})).new_page()
            await page.goto(f"{base}/admin/tickets")
            await log_in(page, "faq-browser@example.com", PASSWORD)
            await page.wait_for_url(f"{base}/admin/tickets")
            suggestion = page.get_by_test_id("faq-suggestion")
            await expect(suggestion).to_have_count(1)
            await expect(suggestion).to_contain_text("3 approved replies")
            await suggestion.locator("summary").click()
            await expect(suggestion).to_contain_text("WordPress Manager")
            await page.screenshot(path=str(SHOTS / "tickets-faq-suggestion.png"))
            await page.get_by_test_id("create-faq").click()
            await expect(page.get_by_text("Saved as an FAQ")).to_be_visible()
            await expect(page.get_by_test_id("faq-suggestion")).to_have_count(0)
    (doc,) = await faqs_of(runtime, org.id)
    assert doc.answer == WORDPRESS_REPLY
