"""In real Chromium: the Widget page's preview runs the real script with the unsaved settings."""

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


async def test_preview_follows_unsaved_settings(database_url: str, tmp_path: Path, db: AsyncSession) -> None:
    org = await make_org(db, "Preview Hosting")
    await make_member(db, org, Role.admin, email="preview@example.com")
    app = create_app(make_settings(database_url, tmp_path / "live"))
    with serve(app) as base:
        async with chromium() as browser:
            page = await browser.new_page(viewport={"width": 1366, "height": 1000})
            await page.goto(f"{base}/admin/widget")
            await log_in(page, "preview@example.com", PASSWORD)
            await page.wait_for_url(f"{base}/admin/widget")

            preview = page.frame_locator('[data-testid="widget-preview"]')
            await expect(preview.get_by_role("dialog", name="Chat with us")).to_be_visible()
            await page.get_by_label("Title").fill("Northwind support")
            await page.get_by_label("Welcome message").fill("Hello from **Northwind**")
            await page.get_by_label("Starter suggestions").fill("Point my domain\nReset my password")
            await page.locator("#wg-prechat-email").select_option("required")
            dialog = preview.get_by_role("dialog", name="Northwind support")
            await expect(dialog).to_be_visible()
            await expect(dialog.locator("strong")).to_have_text("Northwind")
            await expect(dialog.get_by_role("button", name="Reset my password")).to_be_visible()
            await expect(dialog.get_by_role("textbox", name="E-mail")).to_be_visible()  # the pre-chat form
            await dialog.get_by_role("button", name="Start chat").click()
            await expect(dialog.get_by_text("E-mail is required.")).to_be_visible()
            await dialog.get_by_role("textbox", name="E-mail").fill("not-an-address")
            await dialog.get_by_role("button", name="Start chat").click()
            await expect(dialog.get_by_text("Enter an e-mail address like name@example.com.")).to_be_visible()
            await page.screenshot(path="/tmp/shot-widget-admin.png", full_page=True)
            # A fixed language: the widget's own texts switch, what the admin typed stays as typed.
            await page.locator("#wg-language").select_option("it")
            await expect(dialog.get_by_role("button", name="Inizia la chat")).to_be_visible()
            await expect(dialog.get_by_role("button", name="Reset my password")).to_be_visible()
            await page.screenshot(path="/tmp/shot-widget-admin-it.png", full_page=True)
