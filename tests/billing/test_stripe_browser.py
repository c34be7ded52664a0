"""In a real browser, with Stripe on: Upgrade → Checkout (localstripe) → the paid plan, then cancel."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import expect
from sqlalchemy.ext.asyncio import AsyncSession

from tests.billing.stripe_support import ENTERPRISE_PRICE, PRO_PRICE, arrange, invoice, live_settings, served
from tests.browser import chromium, log_in
from tests.factories import PASSWORD
from tests.fakes.smtp_server import SmtpServer
from tests.fakes.stripe_server import FakeStripe

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/shots/stripe")


async def test_stripe_upgrade_in_the_browser(
    database_url: str, tmp_path: Path, smtp: SmtpServer, fake_stripe: FakeStripe, db: AsyncSession
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    fake_stripe.localstripe.create_price(PRO_PRICE, amount=4900, name="Pro")
    fake_stripe.localstripe.create_price(ENTERPRISE_PRICE, amount=19900, name="Enterprise")
    settings = live_settings(database_url, tmp_path, smtp, fake_stripe)
    await arrange(db, settings, "owner@northwind.example")
    with served(settings) as base:
        secret = settings.stripe_webhook_secret.get_secret_value()  # type: ignore[union-attr]
        fake_stripe.add_webhook(f"{base}/webhooks/stripe", secret)
        async with chromium() as browser:
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            await page.goto(f"{base}/admin/billing")
            await log_in(page, "owner@northwind.example", PASSWORD)
            await page.wait_for_url(f"{base}/admin/billing")
            await expect(page.get_by_role("heading", name="Free plan")).to_be_visible()
            await page.screenshot(path=str(SHOTS / "billing-free.png"), full_page=True)

            await page.get_by_test_id("upgrade-pro").click()
            await page.wait_for_url(f"{fake_stripe.base_url}/checkout/**")
            await page.get_by_role("button", name="Subscribe").click()
            await page.wait_for_url(f"{base}/admin/billing")
            await expect(page.get_by_role("status")).to_contain_text("Your payment went through")
            await expect(page.get_by_role("heading", name="Pro plan")).to_be_visible()
            await expect(page.get_by_test_id("subscription-status")).to_have_text("active")
            await expect(page.get_by_test_id("invoices")).to_contain_text("49.00 USD")
            await page.screenshot(path=str(SHOTS / "billing-pro.png"), full_page=True)

            # Stripe's next charge fails: the page says until when the plan is kept.
            (session,) = fake_stripe.checkout_sessions.values()
            failed = invoice("in_failed", session["customer"], session["subscription"], status="open")
            await fake_stripe.emit("invoice.payment_failed", failed)
            await page.reload()
            await expect(page.get_by_test_id("past-due")).to_contain_text("Your last payment failed")
            await expect(page.get_by_test_id("subscription-status")).to_have_text("past due")
            await page.screenshot(path=str(SHOTS / "billing-past-due.png"), full_page=True)

            # Manage billing opens the Customer Portal.
            await page.get_by_role("button", name="Manage billing").click()
            await page.wait_for_url(f"{fake_stripe.base_url}/portal/**")
            await page.get_by_role("button", name="Cancel plan").click()
            await page.wait_for_url(f"{base}/admin/billing")
            await expect(page.get_by_role("heading", name="Free plan")).to_be_visible()
