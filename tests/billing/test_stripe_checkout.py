"""End to end on a served app: Upgrade → Stripe Checkout (localstripe) → signed webhooks → the plan is active;
then the Customer Portal cancels it. Plus the admin page's states (billing off, Stripe failing)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.billing.models import StripeEvent, Subscription
from answerdesk.billing.service import BillingService
from answerdesk.config import Settings
from answerdesk.tenants.models import Organization
from tests.billing.stripe_support import PRO_PRICE, arrange, live_settings, served
from tests.factories import logged_in, page_csrf
from tests.fakes.smtp_server import SmtpServer
from tests.fakes.stripe_server import FakeStripe


async def wait_for_mail(smtp: SmtpServer, count: int, timeout: float = 20) -> list[str]:
    deadline = time.monotonic() + timeout
    while len(smtp.fake.received) < count:
        assert time.monotonic() < deadline, [str(r.message["Subject"]) for r in smtp.fake.received]
        await asyncio.sleep(0.05)
    return [str(r.message["Subject"]) for r in smtp.fake.received]


async def plan_slug(db: AsyncSession, settings: Settings, org_id: object) -> str:
    org = await db.get(Organization, org_id, populate_existing=True)
    assert org is not None
    return (await BillingService(db, settings).get_plan_for_org(org)).slug


async def test_checkout_makes_the_plan_active_and_the_portal_cancels_it(
    database_url: str, tmp_path: Path, smtp: SmtpServer, fake_stripe: FakeStripe, db: AsyncSession
) -> None:
    fake_stripe.localstripe.create_price(PRO_PRICE, amount=4900, name="Pro")
    settings = live_settings(database_url, tmp_path, smtp, fake_stripe)
    org = await arrange(db, settings, "owner@northwind.example")
    with served(settings) as base:
        fake_stripe.add_webhook(f"{base}/webhooks/stripe", settings.stripe_webhook_secret.get_secret_value())  # type: ignore[union-attr]
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            admin = await logged_in(client, "owner@northwind.example")
            page = await client.get("/admin/billing")
            assert page.status_code == 200
            assert "Free plan</h2>" in page.text and "Upgrade to Pro" in page.text

            started = await client.post(
                "/admin/billing/checkout", data={"plan": "pro", "csrf_token": admin.csrf}
            )
            assert started.status_code == 303
            checkout_url = started.headers["location"]
            assert checkout_url.startswith(f"{fake_stripe.base_url}/checkout/cs_test_")
            # The organization now has a Stripe customer, named after it and carrying its id.
            account = await db.scalar(sa.select(Subscription).where(Subscription.organization_id == org.id))
            assert account is not None and account.stripe_customer_id
            with fake_stripe.localstripe.client() as ls:
                customer = ls.get(f"/v1/customers/{account.stripe_customer_id}").json()
            assert customer["email"] == "owner@northwind.example"
            assert customer["metadata"] == {"organization_id": str(org.id)}

            # The customer pays on Stripe's page; Stripe tells the app, then sends the browser back.
            async with httpx.AsyncClient(timeout=30) as stripe_browser:
                paid = await stripe_browser.post(f"{checkout_url}/pay", data={"card": "4242424242424242"})
            assert paid.status_code == 303
            assert paid.headers["location"] == f"{base}/admin/billing?checkout=success"
            assert [(d.event["type"], d.status_code) for d in fake_stripe.deliveries] == [
                ("customer.subscription.created", 200),
                ("checkout.session.completed", 200),
                ("invoice.paid", 200),
            ]
            assert await plan_slug(db, settings, org.id) == "pro"
            account = await db.scalar(
                sa.select(Subscription)
                .where(Subscription.organization_id == org.id)
                .execution_options(populate_existing=True)
            )
            assert account is not None and account.status == "active" and account.stripe_price_id == PRO_PRICE
            rows = (await db.execute(sa.select(StripeEvent.type, StripeEvent.outcome))).all()
            outcomes = {event_type: outcome for event_type, outcome in rows}
            assert outcomes["customer.subscription.created"] == "plan pro"
            assert outcomes["checkout.session.completed"] == "plan pro"

            back = await client.get(paid.headers["location"], follow_redirects=True)
            assert "Thank you! Your payment went through" in back.text
            assert "Pro plan</h2>" in back.text
            assert 'data-testid="subscription-status">active<' in back.text
            # The invoice Stripe made, listed from Stripe.
            assert (
                'data-testid="invoices"' in back.text and "49.00 USD" in back.text and ">paid<" in back.text
            )
            # Another Checkout while subscribed is refused with a readable message.
            again = await client.post(
                "/admin/billing/checkout", data={"plan": "pro", "csrf_token": admin.csrf}
            )
            assert again.status_code == 303 and again.headers["location"] == "/admin/billing"
            assert "already has a subscription" in (await client.get("/admin/billing")).text

            # Manage billing → the Customer Portal → cancel: the organization is back on Free.
            portal = await client.post("/admin/billing/portal", data={"csrf_token": admin.csrf})
            assert portal.status_code == 303 and portal.headers["location"].startswith(
                f"{fake_stripe.base_url}/portal/"
            )
            async with httpx.AsyncClient(timeout=30) as stripe_browser:
                cancelled = await stripe_browser.post(f"{portal.headers['location']}/cancel")
            assert cancelled.status_code == 303 and cancelled.headers["location"] == f"{base}/admin/billing"
            assert fake_stripe.deliveries[-1].event["type"] == "customer.subscription.deleted"
            assert fake_stripe.deliveries[-1].status_code == 200
            assert await plan_slug(db, settings, org.id) == "free"
    assert await wait_for_mail(smtp, 2) == [
        "Northwind Hosting is now on the Pro plan",
        "Northwind Hosting: subscription ended",
    ]


async def test_stripe_errors_are_readable_flashes_not_500s(
    database_url: str, tmp_path: Path, smtp: SmtpServer, fake_stripe: FakeStripe, db: AsyncSession
) -> None:
    settings = live_settings(database_url, tmp_path, smtp, fake_stripe)
    await arrange(db, settings, "owner@northwind.example")
    with served(settings) as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            admin = await logged_in(client, "owner@northwind.example")
            # The Pro price does not exist in this Stripe account.
            refused = await client.post(
                "/admin/billing/checkout", data={"plan": "pro", "csrf_token": admin.csrf}
            )
            assert refused.status_code == 303 and refused.headers["location"] == "/admin/billing"
            page = await client.get("/admin/billing")
            assert page.status_code == 200 and "No such price" in page.text and "flash-error" in page.text
            # Once the price exists, Checkout starts (the organization gets its Stripe customer)...
            fake_stripe.localstripe.create_price(PRO_PRICE, amount=4900, name="Pro")
            started = await client.post(
                "/admin/billing/checkout", data={"plan": "pro", "csrf_token": admin.csrf}
            )
            assert started.status_code == 303 and started.headers["location"].startswith(fake_stripe.base_url)
            # The customer made by the refused attempt was kept and reused: one customer, not two.
            with fake_stripe.localstripe.client() as ls:
                assert len(ls.get("/v1/customers").json()["data"]) == 1
            # ...and Stripe failing while the page lists invoices still shows the page, with the reason.
            fake_stripe.fail(500, times=3)
            page = await client.get("/admin/billing")
            assert page.status_code == 200
            assert 'data-testid="invoices-error"' in page.text and "try again" in page.text
            # A plan without a Stripe price cannot be bought.
            missing = await client.post(
                "/admin/billing/checkout", data={"plan": "free", "csrf_token": admin.csrf}
            )
            assert missing.status_code == 303
            assert "can be bought here" in (await client.get("/admin/billing")).text
            # Nobody but an admin reaches the page; a forged form is refused.
            forged = await client.post("/admin/billing/checkout", data={"plan": "pro", "csrf_token": "x"})
            assert forged.status_code == 403


async def test_without_a_stripe_key_billing_is_off(
    database_url: str, tmp_path: Path, smtp: SmtpServer, db: AsyncSession
) -> None:
    settings = live_settings(database_url, tmp_path, smtp, None)
    await arrange(db, settings, "owner@northwind.example")
    with served(settings) as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            admin = await logged_in(client, "owner@northwind.example")
            page = await client.get("/admin/billing")
            assert page.status_code == 200
            assert "contact the operator of this service" in page.text and "Upgrade to" not in page.text
            assert 'aria-label="AI answers this period"' in page.text
            off = await client.post("/admin/billing/checkout", data={"plan": "pro", "csrf_token": admin.csrf})
            assert off.status_code == 303
            assert "Billing is off on this server" in (await client.get("/admin/billing")).text
            portal = await client.post("/admin/billing/portal", data={"csrf_token": page_csrf(page.text)})
            assert portal.status_code == 303


async def test_events_localstripe_signs_and_sends_itself_are_applied(
    database_url: str, tmp_path: Path, smtp: SmtpServer, fake_stripe: FakeStripe, db: AsyncSession
) -> None:
    """Another signer: localstripe's own deliveries (its HMAC, its older event shapes) reach the plan."""
    fake_stripe.localstripe.create_price(PRO_PRICE, amount=4900, name="Pro")
    settings = live_settings(database_url, tmp_path, smtp, fake_stripe)
    org = await arrange(db, settings, "owner@northwind.example")
    with served(settings) as base:
        secret = settings.stripe_webhook_secret.get_secret_value()  # type: ignore[union-attr]
        fake_stripe.localstripe.deliver_webhooks(
            f"{base}/webhooks/stripe",
            secret,
            ["customer.subscription.created", "customer.subscription.deleted"],
        )
        try:
            with fake_stripe.localstripe.client() as ls:
                customer = ls.post("/v1/customers", data={"email": "owner@northwind.example"}).json()["id"]
                pm = ls.post(
                    "/v1/payment_methods",
                    data={
                        "type": "card",
                        "card[number]": "4242424242424242",
                        "card[exp_month]": "12",
                        "card[exp_year]": "2034",
                        "card[cvc]": "123",
                    },
                ).json()["id"]
                ls.post(f"/v1/payment_methods/{pm}/attach", data={"customer": customer}).raise_for_status()
                ls.post(
                    f"/v1/customers/{customer}", data={"invoice_settings[default_payment_method]": pm}
                ).raise_for_status()
                created = ls.post(
                    "/v1/subscriptions",
                    data={
                        "customer": customer,
                        "items[0][plan]": PRO_PRICE,
                        "metadata[organization_id]": str(org.id),
                    },
                )
                assert created.json()["status"] == "active"
            deadline = time.monotonic() + 20
            while await plan_slug(db, settings, org.id) != "pro":
                assert time.monotonic() < deadline, "localstripe's event did not make the plan active"
                await asyncio.sleep(0.1)
            with fake_stripe.localstripe.client() as ls:
                ls.delete(f"/v1/subscriptions/{created.json()['id']}").raise_for_status()
            while await plan_slug(db, settings, org.id) != "free":
                assert time.monotonic() < deadline + 20, "localstripe's deletion did not end the plan"
                await asyncio.sleep(0.1)
        finally:
            fake_stripe.localstripe.stop_webhooks()
