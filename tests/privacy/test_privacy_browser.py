"""In a real browser: an admin erases a customer from a conversation (typing their e-mail), sees the privacy
actions on a ticket, exports the organization from Settings and deletes it by typing its name."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import Role
from answerdesk.main import create_app
from answerdesk.runtime import Runtime
from tests.browser import chromium, log_in
from tests.conftest import make_settings
from tests.factories import PASSWORD, bearer, make_key, make_member, make_org
from tests.live import serve
from tests.privacy.support import org_rows
from tests.tickets.native import native_ticket

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots/privacy")
PORT = 8141
EMAIL = "dora.customer@example.com"


async def log_in_as(page: Page, base: str, email: str) -> None:
    await page.goto(f"{base}/admin")
    await log_in(page, email, PASSWORD)
    await page.wait_for_url(f"{base}/admin")


async def test_admin_erases_a_customer_exports_and_deletes_the_organization(
    database_url: str, tmp_path: Path, db: AsyncSession, runtime: Runtime
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    org = await make_org(db, "Browser Privacy Hosting")
    await make_member(db, org, Role.admin, email="privacy-admin@example.com")
    key = await make_key(db, org)
    ticket = await native_ticket(
        runtime, org.id, "Please close my account and remove my data.", client_email=EMAIL, client_name="Dora"
    )
    app = create_app(make_settings(database_url, tmp_path / "live"))
    with serve(app, port=PORT) as base:
        async with httpx.AsyncClient(base_url=base) as api:
            started = await api.post(
                "/api/v1/conversations",
                headers=bearer(key),
                json={"customer": {"name": "Dora", "email": EMAIL}},
            )
            conversation_id = started.json()["id"]
            said = await api.post(
                f"/api/v1/conversations/{conversation_id}/messages",
                headers=bearer(key),
                json={"content": "Hello, I would like to know where my order is."},
            )
            assert said.status_code == 200, said.text
        async with chromium() as browser:
            page = await (await browser.new_context(viewport={"width": 1366, "height": 900})).new_page()
            await log_in_as(page, base, "privacy-admin@example.com")

            await page.goto(f"{base}/admin/tickets/{ticket.id}")
            card = page.get_by_test_id("customer-privacy")
            await expect(card).to_contain_text("WHMCS is never changed")
            await card.scroll_into_view_if_needed()
            await page.screenshot(path=str(SHOTS / "ticket-privacy.png"), full_page=True)

            await page.goto(f"{base}/admin/chats/{conversation_id}")
            await page.get_by_test_id("erase-customer-open").click()
            await page.get_by_test_id("erase-confirm").fill(EMAIL)
            await page.get_by_test_id("customer-privacy").scroll_into_view_if_needed()
            await page.screenshot(path=str(SHOTS / "chat-erase-confirm.png"), full_page=True)
            await page.get_by_test_id("erase-customer").click()
            await page.wait_for_url(f"{base}/admin/chats")
            await expect(page.get_by_role("status")).to_contain_text("1 ticket(s)")
            await page.screenshot(path=str(SHOTS / "chat-erased.png"), full_page=True)

            await page.goto(f"{base}/admin/settings")
            await page.get_by_test_id("retention-days").fill("365")
            await page.get_by_role("button", name="Save retention").click()
            await expect(page.get_by_role("status")).to_contain_text("kept for 365 days")
            await page.get_by_test_id("request-export").click()
            await expect(page.get_by_test_id("exports")).to_be_visible()
            download_link = page.get_by_test_id("download-export")
            for _ in range(100):  # the export job runs in the server's process: reload until it is ready
                if await download_link.count():
                    break
                await page.wait_for_timeout(100)
                await page.reload()
            await expect(download_link).to_be_visible()
            async with page.expect_download() as downloading:
                await download_link.click()
            download = await downloading.value
            assert download.suggested_filename.endswith(".zip")
            await page.get_by_test_id("confirm-name").fill("Browser Privacy Hosting")
            await page.locator("#privacy").scroll_into_view_if_needed()
            await page.screenshot(path=str(SHOTS / "settings-privacy.png"), full_page=True)
            await page.get_by_test_id("delete-organization").click()
            await page.wait_for_url(f"{base}/login**")
            await page.screenshot(path=str(SHOTS / "after-delete.png"))
    assert await org_rows(runtime, org.id) == {}
