"""POST /webhooks/stripe: signatures, exactly-once application, and what each event type does."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import Role
from answerdesk.billing.models import StripeEvent, Subscription
from answerdesk.billing.service import BillingService
from answerdesk.billing.stripe_service import end_grace_periods
from answerdesk.kit.db import utcnow
from answerdesk.runtime import Runtime
from answerdesk.tenants.models import Organization
from tests.billing.stripe_support import (
    ENTERPRISE_PRICE,
    WEBHOOK_SECRET,
    deliver,
    invoice,
    price_plans,
    signed,
    stripe_settings,
    subscription,
)
from tests.conftest import app_client, started_app
from tests.factories import make_member, make_org
from tests.fakes.smtp_server import SmtpServer
from tests.fakes.stripe_server import event_body, sign


@pytest.fixture
async def stripe_app(database_url: str, tmp_path: Path, smtp: SmtpServer) -> AsyncIterator[FastAPI]:
    async with started_app(stripe_settings(database_url, tmp_path / "data", smtp, None)) as application:
        yield application


@pytest.fixture
def rt(stripe_app: FastAPI) -> Runtime:
    runtime: Runtime = stripe_app.state.runtime
    return runtime


@pytest.fixture
async def sdb(rt: Runtime) -> AsyncIterator[AsyncSession]:
    async with rt.sessionmaker() as session:
        yield session


@pytest.fixture
async def hook(stripe_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(stripe_app, ip="3.18.12.63") as c:
        yield c


async def plan_of(db: AsyncSession, rt: Runtime, org_id: object) -> str:
    org = await db.get(Organization, org_id, populate_existing=True)
    assert org is not None
    return (await BillingService(db, rt.settings).get_plan_for_org(org)).slug


async def account_of(db: AsyncSession, org_id: object) -> Subscription:
    row = await db.scalar(
        sa.select(Subscription)
        .where(Subscription.organization_id == org_id)
        .execution_options(populate_existing=True)
    )
    assert row is not None
    return row


async def subjects(rt: Runtime, smtp: SmtpServer) -> list[str]:
    await rt.jobs.drain(timeout=30)  # type: ignore[attr-defined] - the in-process queue
    return [str(r.message["Subject"]) for r in smtp.fake.received]


async def tenant(db: AsyncSession, rt: Runtime, name: str = "Acme Hosting") -> Organization:
    """An organization on the Free plan with one admin, and plans that have Stripe prices."""
    await price_plans(db)
    org = await make_org(db, name)
    await make_member(db, org, Role.admin, email=f"admin@{org.slug}.example")
    await BillingService(db, rt.settings).set_plan(org, "free")
    await db.commit()
    return org


# --- the signature ------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["missing", "wrong_secret", "stale", "tampered", "garbage"])
async def test_a_bad_or_missing_signature_is_a_400_and_changes_nothing(
    hook: httpx.AsyncClient, sdb: AsyncSession, rt: Runtime, case: str
) -> None:
    org = await tenant(sdb, rt)
    event = event_body(
        "customer.subscription.created", subscription("sub_1", "cus_1", organization_id=str(org.id))
    )
    payload, headers = signed(event)
    if case == "missing":
        headers.pop("Stripe-Signature")
    elif case == "wrong_secret":
        headers["Stripe-Signature"] = sign(payload, "whsec_someone_else")
    elif case == "stale":
        headers["Stripe-Signature"] = sign(payload, WEBHOOK_SECRET, timestamp=int(time.time()) - 3600)
    elif case == "tampered":
        payload = payload.replace(b'"active"', b'"trialing"')
    else:
        headers["Stripe-Signature"] = "t=now,v1=nope"
    response = await hook.post("/webhooks/stripe", content=payload, headers=headers)
    assert response.status_code == 400
    body = response.json()
    assert body["error"]["code"] == "bad_signature" and body["error"]["message"]
    assert set(body["error"]) == {"code", "message", "details"}
    assert await plan_of(sdb, rt, org.id) == "free"
    assert await sdb.scalar(sa.select(sa.func.count()).select_from(StripeEvent)) == 0


async def test_a_signed_body_that_is_not_an_event_is_a_400(hook: httpx.AsyncClient) -> None:
    payload = b'{"hello": "world"}'
    response = await hook.post(
        "/webhooks/stripe", content=payload, headers={"Stripe-Signature": sign(payload, WEBHOOK_SECRET)}
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_webhook"


async def test_without_a_webhook_secret_the_endpoint_is_off(
    database_url: str, tmp_path: Path, smtp: SmtpServer
) -> None:
    settings = stripe_settings(database_url, tmp_path / "off", smtp, None, stripe_webhook_secret=None)
    async with started_app(settings) as application, app_client(application) as c:
        payload, headers = signed(event_body("invoice.paid", invoice("in_1", "cus_1", "sub_1")))
        response = await c.post("/webhooks/stripe", content=payload, headers=headers)
    assert response.status_code == 404 and response.json()["error"]["code"] == "billing_disabled"


# --- exactly once -------------------------------------------------------------------------------------


async def test_a_replayed_event_is_a_200_that_changes_nothing(
    hook: httpx.AsyncClient, sdb: AsyncSession, rt: Runtime, smtp: SmtpServer
) -> None:
    org = await tenant(sdb, rt)
    sub = subscription("sub_r", "cus_r", organization_id=str(org.id))
    first, event = await deliver(hook, "customer.subscription.created", sub)
    assert first.status_code == 200 and first.json()["duplicate"] is False
    assert await plan_of(sdb, rt, org.id) == "pro"
    assert await subjects(rt, smtp) == ["Acme Hosting is now on the Pro plan"]

    # The operator moves the organization by hand; a replay of the old event must not undo it.
    org_row = await sdb.get(Organization, org.id, populate_existing=True)
    assert org_row is not None
    await BillingService(sdb, rt.settings).set_plan(org_row, "enterprise")
    await sdb.commit()
    payload, headers = signed(event)
    again = await hook.post("/webhooks/stripe", content=payload, headers=headers)
    assert again.status_code == 200 and again.json() == {
        "received": True,
        "id": event["id"],
        "duplicate": True,
        "outcome": "already applied",
    }
    assert await plan_of(sdb, rt, org.id) == "enterprise"
    assert await subjects(rt, smtp) == ["Acme Hosting is now on the Pro plan"]
    assert await sdb.scalar(sa.select(sa.func.count()).select_from(StripeEvent)) == 1


async def test_concurrent_deliveries_of_one_event_apply_it_once(
    hook: httpx.AsyncClient, sdb: AsyncSession, rt: Runtime, smtp: SmtpServer
) -> None:
    org = await tenant(sdb, rt)
    await deliver(
        hook, "customer.subscription.created", subscription("sub_c", "cus_c", organization_id=str(org.id))
    )
    await subjects(rt, smtp)
    smtp.fake.reset()
    failed = event_body("invoice.payment_failed", invoice("in_c", "cus_c", "sub_c", status="open"))
    payload, headers = signed(failed)
    answers = await asyncio.gather(
        *(hook.post("/webhooks/stripe", content=payload, headers=headers) for _ in range(4))
    )
    assert [a.status_code for a in answers] == [200] * 4
    assert sorted(a.json()["duplicate"] for a in answers) == [False, True, True, True]
    assert await subjects(rt, smtp) == ["Acme Hosting: your payment failed"]
    assert await sdb.scalar(sa.select(sa.func.count()).select_from(StripeEvent)) == 2


# --- each event type ----------------------------------------------------------------------------------


async def test_subscription_created_updated_deleted(
    hook: httpx.AsyncClient, sdb: AsyncSession, rt: Runtime, smtp: SmtpServer
) -> None:
    org = await tenant(sdb, rt)
    start = int(time.time()) - 86400
    created, _ = await deliver(
        hook,
        "customer.subscription.created",
        subscription("sub_1", "cus_1", organization_id=str(org.id), period_start=start),
    )
    assert created.json()["outcome"] == "plan pro"
    account = await account_of(sdb, org.id)
    assert (account.stripe_customer_id, account.stripe_subscription_id, account.status) == (
        "cus_1",
        "sub_1",
        "active",
    )
    org_row = await sdb.get(Organization, org.id, populate_existing=True)
    assert org_row is not None and org_row.current_period_start is not None
    assert int(org_row.current_period_start.timestamp()) == start

    # Upgraded in the portal: the update names the customer only (found by its id) and the new price.
    updated, _ = await deliver(
        hook, "customer.subscription.updated", subscription("sub_1", "cus_1", price=ENTERPRISE_PRICE)
    )
    assert updated.json()["outcome"] == "plan enterprise"
    assert await plan_of(sdb, rt, org.id) == "enterprise"

    deleted, _ = await deliver(
        hook,
        "customer.subscription.deleted",
        subscription("sub_1", "cus_1", status="canceled", price=ENTERPRISE_PRICE),
    )
    assert deleted.json()["outcome"] == "subscription ended: enterprise → free"
    assert await plan_of(sdb, rt, org.id) == "free"
    assert (await account_of(sdb, org.id)).status == "canceled"
    assert await subjects(rt, smtp) == [
        "Acme Hosting is now on the Pro plan",
        "Acme Hosting is now on the Enterprise plan",
        "Acme Hosting: subscription ended",
    ]
    # To every active admin, from the configured sender.
    assert smtp.fake.received[0].recipients == [f"admin@{org.slug}.example"]


async def test_an_older_snapshot_delivered_late_is_ignored(
    hook: httpx.AsyncClient, sdb: AsyncSession, rt: Runtime
) -> None:
    org = await tenant(sdb, rt)
    now = int(time.time())
    await deliver(
        hook,
        "customer.subscription.updated",
        subscription("sub_o", "cus_o", organization_id=str(org.id), price=ENTERPRISE_PRICE),
        created=now,
    )
    late, _ = await deliver(
        hook,
        "customer.subscription.created",
        subscription("sub_o", "cus_o", organization_id=str(org.id)),
        created=now - 60,
    )
    assert late.status_code == 200 and late.json()["outcome"].startswith("ignored: older")
    assert await plan_of(sdb, rt, org.id) == "enterprise"


async def test_payment_failed_grace_period_then_free_plan_then_paid_again(
    hook: httpx.AsyncClient, sdb: AsyncSession, rt: Runtime, smtp: SmtpServer
) -> None:
    org = await tenant(sdb, rt)
    await deliver(
        hook, "customer.subscription.created", subscription("sub_g", "cus_g", organization_id=str(org.id))
    )
    failed, _ = await deliver(
        hook, "invoice.payment_failed", invoice("in_g1", "cus_g", "sub_g", status="open")
    )
    assert failed.json()["outcome"].startswith("past due: grace until")
    account = await account_of(sdb, org.id)
    assert account.status == "past_due" and account.grace_ends_at is not None
    assert account.past_due_since is not None
    assert account.grace_ends_at - account.past_due_since == timedelta(days=7)
    # Still on the paid plan during the grace period; Stripe's retry failing again mails nobody twice.
    assert await plan_of(sdb, rt, org.id) == "pro"
    again, _ = await deliver(
        hook, "invoice.payment_failed", invoice("in_g1", "cus_g", "sub_g", status="open")
    )
    assert again.json()["outcome"].startswith("still past due")
    # The subscription's own update to past_due neither restarts the grace period.
    await deliver(hook, "customer.subscription.updated", subscription("sub_g", "cus_g", status="past_due"))
    assert (await account_of(sdb, org.id)).grace_ends_at == account.grace_ends_at

    grace_ends = account.grace_ends_at
    # Nothing happens before the grace period ends...
    assert (
        await end_grace_periods(sdb, rt.settings, rt.jobs, now=account.grace_ends_at - timedelta(minutes=1))
        == 0
    )
    # ...and at its end the organization moves to Free.
    assert await end_grace_periods(sdb, rt.settings, rt.jobs, now=account.grace_ends_at) == 1
    await sdb.commit()
    assert await plan_of(sdb, rt, org.id) == "free"
    assert await end_grace_periods(sdb, rt.settings, rt.jobs, now=utcnow() + timedelta(days=30)) == 0
    await sdb.commit()

    # Stripe's last retry succeeds: the plan comes back.
    paid, _ = await deliver(hook, "invoice.paid", invoice("in_g1", "cus_g", "sub_g"))
    assert paid.json()["outcome"] == "plan pro"
    account = await account_of(sdb, org.id)
    assert (account.status, account.grace_ends_at, account.downgraded_at) == ("active", None, None)
    assert await plan_of(sdb, rt, org.id) == "pro"
    assert await subjects(rt, smtp) == [
        "Acme Hosting is now on the Pro plan",
        "Acme Hosting: your payment failed",
        "Acme Hosting is now on the Free plan",
        "Acme Hosting: payment received",
    ]
    grace_mail = smtp.fake.received[1].message.get_content()
    assert f"until {grace_ends:%d %B %Y}" in grace_mail and "http://testserver/admin/billing" in grace_mail


async def test_invoice_paid_without_trouble_changes_nothing(
    hook: httpx.AsyncClient, sdb: AsyncSession, rt: Runtime
) -> None:
    org = await tenant(sdb, rt)
    await deliver(
        hook, "customer.subscription.created", subscription("sub_p", "cus_p", organization_id=str(org.id))
    )
    paid, _ = await deliver(hook, "invoice.paid", invoice("in_p", "cus_p", "sub_p"))
    assert paid.json()["outcome"] == "paid: nothing to change"
    assert await plan_of(sdb, rt, org.id) == "pro"


async def test_events_of_other_tenants_or_nobody_change_nothing_here(
    hook: httpx.AsyncClient, sdb: AsyncSession, rt: Runtime, smtp: SmtpServer
) -> None:
    ours = await tenant(sdb, rt, "Ours")
    theirs = await tenant(sdb, rt, "Theirs")
    await deliver(
        hook, "customer.subscription.created", subscription("sub_a", "cus_a", organization_id=str(ours.id))
    )
    await deliver(
        hook, "customer.subscription.created", subscription("sub_b", "cus_b", organization_id=str(theirs.id))
    )
    # Their payment fails: only they enter a grace period.
    await deliver(hook, "invoice.payment_failed", invoice("in_b", "cus_b", "sub_b", status="open"))
    assert (await account_of(sdb, ours.id)).status == "active"
    assert (await account_of(sdb, theirs.id)).status == "past_due"
    # A customer nobody here knows, an organization id that does not exist, an event type we do not use.
    unknown, _ = await deliver(hook, "invoice.payment_failed", invoice("in_x", "cus_unknown", "sub_x"))
    assert unknown.status_code == 200 and unknown.json()["outcome"].startswith("ignored")
    ghost, _ = await deliver(
        hook,
        "customer.subscription.created",
        subscription("sub_z", "cus_z", organization_id="00000000-0000-4000-8000-000000000000"),
    )
    assert ghost.json()["outcome"].startswith("ignored")
    other, _ = await deliver(hook, "customer.created", {"id": "cus_new", "object": "customer"})
    assert other.status_code == 200 and other.json()["outcome"] == "ignored: not an event Answerdesk uses"
    assert await plan_of(sdb, rt, ours.id) == "pro"
    # A metadata org id cannot take over another organization's customer.
    hijack, _ = await deliver(
        hook,
        "customer.subscription.updated",
        subscription("sub_b", "cus_b", organization_id=str(ours.id), price=ENTERPRISE_PRICE),
    )
    assert hijack.status_code == 200
    assert await plan_of(sdb, rt, ours.id) == "pro"
    assert await plan_of(sdb, rt, theirs.id) == "enterprise"


async def test_the_periodic_task_ends_grace_periods_and_forgets_month_old_events(
    hook: httpx.AsyncClient, sdb: AsyncSession, rt: Runtime, smtp: SmtpServer
) -> None:
    from answerdesk.billing.stripe_service import GRACE_TASK
    from answerdesk.kit.jobs import JobContext, registry

    org = await tenant(sdb, rt)
    await deliver(
        hook, "customer.subscription.created", subscription("sub_t", "cus_t", organization_id=str(org.id))
    )
    await deliver(hook, "invoice.payment_failed", invoice("in_t", "cus_t", "sub_t", status="open"))
    account = await account_of(sdb, org.id)
    account.grace_ends_at = utcnow() - timedelta(seconds=1)
    old = await sdb.get(StripeEvent, (await sdb.scalars(sa.select(StripeEvent.id))).first())
    assert old is not None
    old.received_at = utcnow() - timedelta(days=31)
    await sdb.commit()
    old_id = old.id

    spec = registry.get(GRACE_TASK)
    assert GRACE_TASK in {s.name for s in registry.schedules()}
    await spec.fn(JobContext(runtime=rt, job_id="t", name=GRACE_TASK, attempt=1, max_attempts=1))
    assert await plan_of(sdb, rt, org.id) == "free"
    assert (await account_of(sdb, org.id)).downgraded_at is not None
    remaining = set(
        (await sdb.scalars(sa.select(StripeEvent.id).execution_options(populate_existing=True))).all()
    )
    assert old_id not in remaining and len(remaining) == 1
    assert (await subjects(rt, smtp))[-1] == "Acme Hosting is now on the Free plan"


async def test_a_duplicate_delivered_while_the_first_is_mid_transaction_is_not_applied_twice(
    sdb: AsyncSession, rt: Runtime, smtp: SmtpServer
) -> None:
    """The first delivery holds the event id uncommitted; the second waits on the unique key, then yields.

    On PostgreSQL the second insert is seen blocked on the first's lock (pg_locks) before the first commits,
    so this is the unique key at work. SQLite serialises writers, so there the second may also find the id
    committed before it inserts; both ways it must answer duplicate and apply nothing."""
    from answerdesk.billing.repository import StripeEventRepository
    from answerdesk.billing.webhooks import process_event
    from answerdesk.integrations.stripe import Event

    org = await tenant(sdb, rt)
    body = event_body(
        "customer.subscription.created", subscription("sub_m", "cus_m", organization_id=str(org.id))
    )
    event = Event.from_stripe(body)
    async with rt.sessionmaker() as first:
        await StripeEventRepository(first).record(event.id, event.type)  # flushed, not committed
        second = asyncio.create_task(process_event(rt, event))
        if rt.engine.dialect.name == "postgresql":
            deadline = time.monotonic() + 20
            while True:
                async with rt.engine.connect() as probe:
                    waiting = await probe.scalar(sa.text("SELECT count(*) FROM pg_locks WHERE NOT granted"))
                if waiting:
                    break
                assert time.monotonic() < deadline and not second.done(), "the second delivery did not wait"
                await asyncio.sleep(0.02)
        else:
            await asyncio.sleep(0)  # let it start; the write lock held here keeps it from applying anything
        assert not second.done()
        await first.commit()
    outcome = await asyncio.wait_for(second, timeout=30)
    assert outcome.duplicate is True
    # The first "delivery" stored only the id (this test stands in for it), so nothing was applied at all.
    assert await plan_of(sdb, rt, org.id) == "free"
    assert await subjects(rt, smtp) == []
