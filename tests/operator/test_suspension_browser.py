"""In real Chromium: a suspended organization's widget tells the visitor plainly, and works again after."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import expect
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import ApiKeyKind
from answerdesk.auth.service import MemberService
from answerdesk.main import create_app
from answerdesk.operator.service import OperatorService
from tests.browser import chromium
from tests.conftest import make_settings
from tests.factories import PASSWORD, make_key, make_org
from tests.live import serve
from tests.widget.test_widget_browser import host_site

pytestmark = pytest.mark.browser
APP_PORT, SITE_PORT = 8134, 8135  # this helper's port range on the shared machine
SHOTS = Path("/tmp/shots/signup")


async def test_suspended_widget_says_so(database_url: str, tmp_path: Path, db: AsyncSession) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    site_origin = f"http://127.0.0.1:{SITE_PORT}"
    org = await make_org(db, "Paused Hosting")
    key = await make_key(db, org, ApiKeyKind.public, origins=[site_origin])
    operator, _ = await MemberService(db).create_operator("ops@instance.example", password=PASSWORD)
    settings = make_settings(database_url, tmp_path / "live")
    await OperatorService(db, settings).suspend(org.id, reason="test", actor=operator)
    await db.commit()
    app = create_app(settings)
    with serve(app, port=APP_PORT) as base, serve(host_site(base, key), port=SITE_PORT) as site:
        async with chromium() as browser:
            page = await browser.new_page()
            await page.goto(f"{site}/")
            await page.get_by_role("button", name=re.compile("^Open chat")).click()
            dialog = page.get_by_role("dialog")
            await expect(dialog).to_contain_text(
                "This organization is suspended. Please contact the service operator."
            )
            await expect(dialog.get_by_role("textbox", name="Your message")).to_be_disabled()
            await page.screenshot(path=str(SHOTS / "widget-suspended.png"))

            await OperatorService(db, settings).resume(org.id, actor=operator)
            await db.commit()
            await page.reload()
            await page.get_by_role("button", name=re.compile("^Open chat")).click()
            await expect(
                page.get_by_role("dialog").get_by_role("textbox", name="Your message")
            ).to_be_enabled()
