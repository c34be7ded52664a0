"""In a real browser: upload by file input and drop zone, watch rows turn ready in place, test a question."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import expect
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import Role
from answerdesk.main import create_app
from tests.browser import chromium, log_in
from tests.conftest import make_settings
from tests.factories import PASSWORD, make_member, make_org
from tests.live import serve

pytestmark = pytest.mark.browser

GUIDE = b"""# Email setup

## Incoming mail (IMAP)

Use mail.example.com on port 993 with SSL/TLS. Your username is your full e-mail address.

## Outgoing mail (SMTP)

Use port 465 with SSL/TLS, or 587 with STARTTLS. Authentication is required.
"""
# Built inside the page, as a file dragged from the desktop would be.
DROPPED_FILE = """() => {
  const text = "# PHP versions\\n\\n## Changing the PHP version\\n\\n" +
    "Open Websites, pick the site and choose PHP 8.3 under PHP settings. Changes apply within a minute.";
  const data = new DataTransfer();
  data.items.add(new File([text], "web-hosting.md", {type: "text/markdown"}));
  return data;
}"""
INGEST_DEADLINE_MS = 60_000


async def test_upload_live_status_and_search_in_browser(
    database_url: str, tmp_path: Path, db: AsyncSession
) -> None:
    org = await make_org(db, "Browser Hosting")
    await make_member(db, org, Role.admin, email="kb-browser@example.com")
    guide = tmp_path / "email-setup.md"
    guide.write_bytes(GUIDE)
    app = create_app(make_settings(database_url, tmp_path / "live"))
    with serve(app) as base:
        async with chromium() as browser:
            session = await browser.new_context(viewport={"width": 1366, "height": 900})
            page = await session.new_page()
            await page.goto(f"{base}/admin/knowledge")
            await log_in(page, "kb-browser@example.com", PASSWORD)
            await page.wait_for_url(f"{base}/admin/knowledge")
            await expect(page.get_by_role("heading", name="No knowledge yet")).to_be_visible()

            await page.set_input_files("#kb-files", str(guide))
            drop = await page.evaluate_handle(DROPPED_FILE)
            await page.dispatch_event("[data-dropzone]", "drop", {"dataTransfer": drop})
            picked = page.locator("#kb-picked li")
            await expect(picked).to_have_count(2)
            await expect(picked.nth(1)).to_contain_text("web-hosting.md")
            await page.locator("#kb-tags").fill("help")

            # A full page load would drop this marker: its survival shows the list updated in place.
            await page.evaluate("window.kbSamePage = true")
            await page.get_by_role("button", name="Upload 2 files").click()
            results = page.get_by_test_id("upload-outcome")
            await expect(results).to_have_count(2)
            await expect(results.first).to_contain_text("Queued for processing")
            for title in ("Email setup", "PHP versions"):  # titles come from each file's first heading
                status = page.locator("#documents tr", has_text=title).locator(".kb-status")
                await expect(status).to_contain_text("ready", timeout=INGEST_DEADLINE_MS)
            await expect(page.locator("#documents")).not_to_have_attribute("data-polling", "true")
            await expect(page.locator("#kb-stats")).to_contain_text("Ready2")
            assert await page.evaluate("window.kbSamePage") is True
            assert page.url == f"{base}/admin/knowledge"

            await page.get_by_label("Question to test").fill("Which port do I use for SMTP?")
            await page.get_by_role("button", name="Search").click()
            first = page.locator("#search-results .kb-hit").first
            await expect(first).to_contain_text("587", timeout=INGEST_DEADLINE_MS)
            await expect(first).to_contain_text("Email setup")
            await page.screenshot(path="/tmp/shot-knowledge.png", full_page=True)

            # Keyboard only: the file input is reachable and the filter narrows the list in place.
            await page.locator("#f-q").focus()
            await page.keyboard.type("php")
            await expect(page.locator("#documents tbody tr")).to_have_count(1)
            await expect(page.locator("#documents")).to_contain_text("PHP versions")
            await page.wait_for_url(f"{base}/admin/knowledge?q=php")

            phone = await session.new_page()  # same login, phone-sized
            await phone.set_viewport_size({"width": 390, "height": 844})
            await phone.goto(f"{base}/admin/knowledge")
            await expect(phone.locator("#documents")).to_contain_text("PHP versions")
            await phone.screenshot(path="/tmp/shot-knowledge-phone.png", full_page=True)
