"""Shared arrangements for the Stripe billing tests: an app wired to the fake Stripe and SMTP, events."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import Role
from answerdesk.billing.repository import PlanRepository
from answerdesk.billing.service import BillingService
from answerdesk.config import Settings
from answerdesk.main import create_app
from answerdesk.tenants.models import Organization
from tests.conftest import make_settings
from tests.factories import make_member, make_org
from tests.fakes.smtp_server import SmtpServer
from tests.fakes.stripe_server import TEST_API_KEY, FakeStripe, event_body, sign
from tests.live import free_port, serve

WEBHOOK_SECRET = "whsec_answerdesk_tests"
PRO_PRICE = "price_pro_monthly_test"
ENTERPRISE_PRICE = "price_enterprise_monthly_test"


def stripe_settings(
    database_url: str, data_dir: Path, smtp: SmtpServer, fake: FakeStripe | None, **overrides: object
) -> Settings:
    values: dict[str, object] = {
        "stripe_webhook_secret": WEBHOOK_SECRET,
        **smtp.settings("billing@answerdesk.example"),
        "billing_grace_days": 7,
    }
    if fake is not None:
        values.update(stripe_secret_key=TEST_API_KEY, stripe_api_base=fake.base_url)
    values.update(overrides)
    return make_settings(database_url, data_dir, **values)


async def price_plans(db: AsyncSession) -> None:
    """Gives the seeded Pro and Enterprise plans their Stripe prices (an operator does it with the CLI)."""
    plans = PlanRepository(db)
    for slug, price in (("pro", PRO_PRICE), ("enterprise", ENTERPRISE_PRICE)):
        plan = await plans.by_slug(slug)
        assert plan is not None
        plan.stripe_price_id = price
    await db.commit()


def subscription(
    sub_id: str,
    customer: str,
    *,
    status: str = "active",
    price: str = PRO_PRICE,
    organization_id: str | None = None,
    period_start: int | None = None,
) -> dict[str, Any]:
    """A subscription as the current API version sends it (period and price on the item)."""
    start = period_start or int(time.time())
    return {
        "id": sub_id,
        "object": "subscription",
        "customer": customer,
        "status": status,
        "cancel_at_period_end": False,
        "metadata": {"organization_id": organization_id} if organization_id else {},
        "items": {
            "object": "list",
            "data": [
                {
                    "id": f"si_{sub_id}",
                    "object": "subscription_item",
                    "price": {"id": price, "object": "price", "unit_amount": 4900, "currency": "usd"},
                    "current_period_start": start,
                    "current_period_end": start + 30 * 86400,
                    "quantity": 1,
                }
            ],
        },
    }


def invoice(inv_id: str, customer: str, sub_id: str, *, status: str = "paid") -> dict[str, Any]:
    return {
        "id": inv_id,
        "object": "invoice",
        "customer": customer,
        "status": status,
        "currency": "usd",
        "amount_due": 4900,
        "amount_paid": 4900 if status == "paid" else 0,
        "created": int(time.time()),
        "parent": {"type": "subscription_details", "subscription_details": {"subscription": sub_id}},
    }


def signed(event: dict[str, Any], secret: str = WEBHOOK_SECRET) -> tuple[bytes, dict[str, str]]:
    payload = json.dumps(event).encode()
    return payload, {"Stripe-Signature": sign(payload, secret), "Content-Type": "application/json"}


async def deliver(
    client: httpx.AsyncClient, event_type: str, obj: dict[str, Any], **kwargs: Any
) -> tuple[httpx.Response, dict[str, Any]]:
    """Posts a signed event to the webhook endpoint, the way Stripe does."""
    event = event_body(event_type, obj, **kwargs)
    payload, headers = signed(event)
    return await client.post("/webhooks/stripe", content=payload, headers=headers), event


@contextmanager
def served(settings_for: Settings) -> Iterator[str]:
    with serve(create_app(settings_for), port=int(settings_for.base_url.rsplit(":", 1)[1])) as base:
        yield base


def live_settings(
    database_url: str, tmp_path: Path, smtp: SmtpServer, fake: FakeStripe | None, **kw: object
) -> Settings:
    port = free_port()
    return stripe_settings(
        database_url, tmp_path / "live", smtp, fake, base_url=f"http://127.0.0.1:{port}", **kw
    )


async def arrange(db: AsyncSession, settings: Settings, email: str) -> Organization:
    await price_plans(db)
    org = await make_org(db, "Northwind Hosting")
    await make_member(db, org, Role.admin, email=email)
    await BillingService(db, settings).set_plan(org, "free")
    await db.commit()
    return org
