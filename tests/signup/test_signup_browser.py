"""In a real browser: the landing page on a phone and a desktop, sign-up → e-mail link → first login →
onboarding checklist, and the operator console. Screenshots go to /tmp/shots/signup/."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import Role
from answerdesk.auth.service import MemberService
from answerdesk.main import create_app
from tests.browser import chromium, log_in
from tests.conftest import make_settings
from tests.factories import PASSWORD, make_member, make_org
from tests.fakes.smtp_server import SmtpServer
from tests.live import serve
from tests.signup.support import link_in, signup_settings_values

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/shots/signup")
# This helper's port range on the shared machine.
PORTS = {"landing": 8131, "signup": 8132, "operator": 8133}


async def no_horizontal_scroll(page: Page) -> None:
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the screen"


async def test_landing_page_on_phone_and_desktop(database_url: str, tmp_path: Path) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    app = create_app(make_settings(database_url, tmp_path / "live", **signup_settings_values()))
    with serve(app, port=PORTS["landing"]) as base:
        async with chromium() as browser:
            for width, height in ((390, 844), (1280, 900)):
                page = await browser.new_page(viewport={"width": width, "height": height})
                requested: list[str] = []
                page.on("request", lambda r, seen=requested: seen.append(r.url))
                await page.goto(f"{base}/")
                await expect(page.get_by_role("heading", level=1)).to_contain_text("answers from")
                pricing = page.get_by_test_id("pricing")
                await pricing.scroll_into_view_if_needed()
                for name in ("Free", "Pro", "Enterprise"):
                    await expect(pricing.get_by_role("heading", name=name, exact=True)).to_be_visible()
                await expect(pricing.locator('[data-plan="pro"]')).to_contain_text("$49")
                await no_horizontal_scroll(page)
                # No CDN: the page and everything it loads come from this server.
                assert requested and all(u.startswith(base) for u in requested), requested
                if width == 1280:
                    # Plans side by side on a desktop, stacked on a phone.
                    boxes = [
                        await pricing.locator(f'[data-plan="{p}"]').bounding_box() for p in ("free", "pro")
                    ]
                    assert boxes[0] and boxes[1] and abs(boxes[0]["y"] - boxes[1]["y"]) < 2
                else:
                    boxes = [
                        await pricing.locator(f'[data-plan="{p}"]').bounding_box() for p in ("free", "pro")
                    ]
                    assert boxes[0] and boxes[1] and boxes[1]["y"] > boxes[0]["y"] + boxes[0]["height"] - 1
                await page.screenshot(path=str(SHOTS / f"landing-{width}.png"), full_page=True)
                await page.get_by_test_id("hero-signup").click()
                await page.wait_for_url(f"{base}/signup")
                await expect(page.get_by_role("heading", name="Create your account")).to_be_visible()
                await no_horizontal_scroll(page)
                await page.screenshot(path=str(SHOTS / f"signup-form-{width}.png"), full_page=True)
                await page.close()


async def test_signup_verify_and_onboarding_in_browser(
    database_url: str, tmp_path: Path, smtp: SmtpServer
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    port = PORTS["signup"]
    settings = make_settings(
        database_url, tmp_path / "live", base_url=f"http://127.0.0.1:{port}", **signup_settings_values(smtp)
    )
    app = create_app(settings)
    with serve(app, port=port) as base:
        async with chromium() as browser:
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            await page.goto(f"{base}/signup")
            await page.get_by_label("Company or team name").fill("Sunrise Hosting")
            await page.get_by_label("Your name").fill("Sam Sunrise")
            await page.get_by_label("E-mail").fill("sam@sunrise.example")
            await page.get_by_label("Password", exact=True).fill("sunrise-hosting-2026")
            await page.get_by_label("Repeat the password").fill("sunrise-hosting-2026")
            await page.get_by_role("button", name="Create account").click()
            await expect(page.get_by_test_id("check-email")).to_contain_text("sam@sunrise.example")
            await page.screenshot(path=str(SHOTS / "check-email.png"))

            assert len(smtp.fake.received) == 1
            link = link_in(smtp.fake.received[0].message.get_content())
            assert link.startswith(base)
            await page.goto(link)
            await page.get_by_role("button", name="Confirm my e-mail address").click()
            await page.wait_for_url(f"{base}/login?next=/admin")
            await expect(page.get_by_role("status")).to_contain_text("is confirmed")
            await log_in(page, "sam@sunrise.example", "sunrise-hosting-2026")
            await page.wait_for_url(f"{base}/admin")

            checklist = page.get_by_test_id("onboarding")
            await expect(checklist).to_contain_text("0 of 4 done")
            for label in ("Add knowledge", "Try the Playground", "Copy the widget snippet", "Connect WHMCS"):
                await expect(checklist.get_by_role("link", name=label)).to_be_visible()
            await page.screenshot(path=str(SHOTS / "onboarding-new.png"), full_page=True)

            # Copying the snippet on the widget page ticks its step.
            await checklist.get_by_role("link", name="Copy the widget snippet").click()
            await page.wait_for_url(f"{base}/admin/widget#embed")
            await page.get_by_label("Your websites (one per line)").fill("https://www.sunrise.example")
            await page.get_by_role("button", name="Create a widget key").click()
            await expect(page.get_by_test_id("embed-snippet")).to_be_visible()
            async with page.expect_response("**/admin/onboarding/events/widget_snippet_copied") as copied:
                await page.locator('[data-copy="wg-snippet"]').click()
            assert (await copied.value).status == 204
            await page.goto(f"{base}/admin")
            await expect(checklist).to_contain_text("1 of 4 done")
            await expect(checklist.locator('[data-step="widget"]')).to_have_attribute("data-done", "true")
            await expect(checklist.locator('[data-step="knowledge"]')).to_have_attribute("data-done", "false")
            await page.screenshot(path=str(SHOTS / "onboarding-ticked.png"), full_page=True)

            phone = await browser.new_page(viewport={"width": 390, "height": 844})
            await phone.context.add_cookies(await page.context.cookies())
            await phone.goto(f"{base}/admin")
            await expect(phone.get_by_test_id("onboarding")).to_contain_text("1 of 4 done")
            await no_horizontal_scroll(phone)
            await phone.screenshot(path=str(SHOTS / "onboarding-390.png"), full_page=True)

            await checklist.get_by_role("button", name="Dismiss").click()
            await expect(checklist).to_have_count(0)
            await page.reload()
            await expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
            await expect(page.get_by_test_id("onboarding")).to_have_count(0)


async def test_operator_console_in_browser(database_url: str, tmp_path: Path, db: AsyncSession) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    org = await make_org(db, "Orbit Hosting")
    await make_member(db, org, Role.admin, email="admin@orbit.example")
    await make_org(db, "Nebula Web")
    await MemberService(db).create_operator("ops@instance.example", password=PASSWORD)
    await db.commit()
    app = create_app(make_settings(database_url, tmp_path / "live", signup="invite"))
    with serve(app, port=PORTS["operator"]) as base:
        async with chromium() as browser:
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            await page.goto(f"{base}/login")
            await log_in(page, "ops@instance.example", PASSWORD)
            await page.wait_for_url(f"{base}/operator")
            table = page.get_by_test_id("org-table")
            await expect(table.locator('[data-org="orbit-hosting"]')).to_contain_text("Enterprise")
            await expect(table.locator('[data-org="nebula-web"]')).to_contain_text("active")
            await page.screenshot(path=str(SHOTS / "operator-console.png"), full_page=True)

            await table.get_by_role("link", name="Orbit Hosting").click()
            await page.get_by_label("Change plan").select_option("pro")
            await page.get_by_role("button", name="Change plan").click()
            await expect(page.get_by_test_id("org-plan")).to_have_text("Pro")
            await page.get_by_label("Reason (kept in the audit log)").fill("Card declined")
            await page.get_by_role("button", name="Suspend").click()
            await expect(page.get_by_test_id("org-status")).to_contain_text("suspended")
            await expect(page.get_by_test_id("operator-audit")).to_contain_text("operator.org_suspended")
            await expect(page.get_by_test_id("operator-audit")).to_contain_text("operator.plan_changed")
            await page.screenshot(path=str(SHOTS / "operator-organization.png"), full_page=True)

            await page.get_by_role("link", name="Invitations").click()
            await page.get_by_label("Note (who it is for)").fill("Comet Ltd")
            await page.get_by_role("button", name="Create invitation").click()
            url = await page.get_by_test_id("invitation-url").inner_text()
            assert url.startswith("http://testserver/signup?invite=adinv_")
            await page.screenshot(path=str(SHOTS / "operator-invitations.png"), full_page=True)

            # The suspended organization's admin logs in, sees why, and can still read.
            member = await browser.new_page(viewport={"width": 1280, "height": 900})
            await member.goto(f"{base}/login")
            await log_in(member, "admin@orbit.example", PASSWORD)
            await member.wait_for_url(f"{base}/admin")
            await expect(member.get_by_test_id("suspended-banner")).to_contain_text("suspended")
            await member.screenshot(path=str(SHOTS / "suspended-dashboard.png"), full_page=True)
