"""In a real browser: log in to the admin panel, create a user, and use the panel on a phone-sized screen."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import Role
from answerdesk.main import create_app
from tests.browser import chromium, log_in
from tests.conftest import make_settings
from tests.factories import PASSWORD, make_member, make_org
from tests.live import serve

pytestmark = pytest.mark.browser


async def test_login_and_create_user_in_browser(database_url: str, tmp_path: Path, db: AsyncSession) -> None:
    org = await make_org(db, "Browser Hosting")
    await make_member(db, org, Role.admin, email="browser-admin@example.com")
    app = create_app(make_settings(database_url, tmp_path / "live"))
    with serve(app) as base:
        async with chromium() as browser:
            page = await browser.new_page()
            await page.goto(f"{base}/admin/users")
            assert page.url.startswith(f"{base}/login")
            await log_in(page, "browser-admin@example.com", PASSWORD)
            await page.wait_for_url(f"{base}/admin/users")
            await page.get_by_text("Invite a user").click()
            await page.get_by_label("E-mail").fill("new-colleague@example.com")
            await page.get_by_label("Name", exact=True).fill("New Colleague")
            await page.get_by_label("Role", exact=True).select_option("staff")
            await page.get_by_role("button", name="Create user").click()
            secret = page.get_by_test_id("one-time-password")
            await secret.wait_for()
            assert len(await secret.inner_text()) >= 12
            row = page.locator("tr", has_text="new-colleague@example.com")
            assert await row.count() == 1
            assert "staff" in await row.inner_text() or await row.locator("select").input_value() == "staff"
            await page.screenshot(path="/tmp/shot-users.png", full_page=True)

            # Phone-sized screen: the menu folds behind a toggle and still reaches every section.
            phone = await browser.new_page(viewport={"width": 390, "height": 844})
            await phone.context.add_cookies(await page.context.cookies())
            await phone.goto(f"{base}/admin")
            nav_link = phone.get_by_role("navigation", name="Main").get_by_role("link", name="API keys")
            assert not await nav_link.is_visible()
            await phone.locator("label.nav-toggle-label").click()
            await nav_link.click()
            await phone.wait_for_url(f"{base}/admin/api-keys")
