"""Plans: seeded at start-up, the default for organizations without one, moving plans, billing periods."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.billing.periods import add_months, monthly_period
from answerdesk.billing.schemas import PlanCreate
from answerdesk.billing.service import BillingService
from answerdesk.config import Settings
from answerdesk.kit.errors import NotFound
from answerdesk.runtime import Runtime
from tests.factories import bearer, logged_in, make_key, make_member, make_org


def test_add_months_keeps_the_day_or_takes_the_last_one() -> None:
    jan31 = datetime(2026, 1, 31, 9, 30, tzinfo=UTC)
    assert add_months(jan31, 1) == datetime(2026, 2, 28, 9, 30, tzinfo=UTC)
    assert add_months(jan31, 2) == datetime(2026, 3, 31, 9, 30, tzinfo=UTC)
    assert add_months(jan31, 12) == datetime(2027, 1, 31, 9, 30, tzinfo=UTC)
    assert add_months(jan31, -2) == datetime(2025, 11, 30, 9, 30, tzinfo=UTC)


def test_monthly_period_contains_now() -> None:
    anchor = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    assert monthly_period(anchor, datetime(2026, 3, 15, 12, 0, tzinfo=UTC)) == (
        datetime(2026, 3, 15, 12, 0, tzinfo=UTC),
        datetime(2026, 4, 15, 12, 0, tzinfo=UTC),
    )
    assert monthly_period(anchor, datetime(2026, 3, 15, 11, 59, tzinfo=UTC)) == (
        datetime(2026, 2, 15, 12, 0, tzinfo=UTC),
        datetime(2026, 3, 15, 12, 0, tzinfo=UTC),
    )
    # The end of a 31st-anchored period in a short month.
    start, end = monthly_period(datetime(2026, 1, 31, tzinfo=UTC), datetime(2026, 2, 28, 1, tzinfo=UTC))
    assert (start, end) == (datetime(2026, 2, 28, tzinfo=UTC), datetime(2026, 3, 31, tzinfo=UTC))


async def test_plans_are_seeded_and_organizations_follow_the_default(
    db: AsyncSession, settings: Settings
) -> None:
    billing = BillingService(db, settings)
    assert [(p.slug, p.answers_per_month, p.price_cents) for p in await billing.list_plans()] == [
        ("free", 100, 0),
        ("pro", 5_000, 4_900),
        ("enterprise", None, 19_900),
    ]
    org = await make_org(db)
    # Self-hosted default: a new organization is not limited.
    assert org.plan_id is None
    assert (await billing.get_plan_for_org(org)).slug == "enterprise"
    await billing.set_plan(org, "free")
    await db.commit()
    assert (await billing.get_plan_for_org(org)).slug == "free"
    assert org.period_anchor == org.created_at


async def test_a_default_plan_setting_is_followed(db: AsyncSession, settings: Settings) -> None:
    org = await make_org(db)
    pro = settings.model_copy(update={"default_plan": "pro"})
    assert (await BillingService(db, pro).get_plan_for_org(org)).slug == "pro"
    # A default naming no plan leaves bots answering (unlimited), rather than stopping every one.
    missing = settings.model_copy(update={"default_plan": "gone"})
    plan = await BillingService(db, missing).get_plan_for_org(org)
    assert plan.answers_per_month is None and plan.chunks_limit is None


async def test_organization_and_plan_in_one_query_choose_as_get_plan_for_org(
    db: AsyncSession, settings: Settings
) -> None:
    org = await make_org(db)
    await db.commit()
    for slug in ("enterprise", "pro", "gone"):  # the default plan, another default, a default naming none
        billing = BillingService(db, settings.model_copy(update={"default_plan": slug}))
        found, plan = await billing.organization_and_plan(org.id)
        expected = await billing.get_plan_for_org(org)
        assert found.id == org.id
        assert (plan.slug, plan.answers_per_month) == (expected.slug, expected.answers_per_month)
    await BillingService(db, settings).set_plan(org, "free")  # its own plan wins over the default
    await db.commit()
    _, own = await BillingService(db, settings).organization_and_plan(org.id)
    assert own.slug == "free"
    with pytest.raises(NotFound):
        await BillingService(db, settings).organization_and_plan(uuid.uuid4())


async def test_usage_api(client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime) -> None:
    org = await make_org(db)
    admin = await make_member(db, org)
    await BillingService(db, runtime.settings).set_plan(org, "free")
    await db.commit()
    session = await logged_in(client, admin.user.email)  # Free has no API access: the admin's session
    response = await session.client.get("/api/v1/billing/usage")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {
        "plan", "period_start", "period_end", "answers_used", "answers_limit",
        "chunks_used", "chunks_limit", "seats_used", "seats_limit",
    }  # fmt: skip
    assert body["plan"] == "free" and body["answers_used"] == 0 and body["answers_limit"] == 100
    assert body["chunks_used"] == 0 and body["chunks_limit"] == 1_000
    assert body["seats_used"] == 1 and body["seats_limit"] == 2
    start = datetime.fromisoformat(body["period_start"])
    assert start == org.created_at
    assert datetime.fromisoformat(body["period_end"]) == add_months(start, 1)

    # Unlimited limits are null; a secret key works on a plan with API access.
    await BillingService(db, runtime.settings).set_plan(org, "enterprise")
    await db.commit()
    body = (await client.get("/api/v1/billing/usage", headers=bearer(await make_key(db, org)))).json()
    assert body["plan"] == "enterprise"
    assert body["answers_limit"] is None and body["chunks_limit"] is None and body["seats_limit"] is None


async def test_staff_cannot_read_usage(new_client: object, db: AsyncSession) -> None:
    from answerdesk.auth.models import Role

    org = await make_org(db)
    staff = await make_member(db, org, role=Role.staff)
    session = await logged_in(new_client(), staff.user.email)  # type: ignore[operator]
    response = await session.client.get("/api/v1/billing/usage")
    assert response.status_code == 403
    assert set(response.json()["error"]) == {"code", "message", "details"}


async def test_a_subscription_period_decides_the_billing_period(db: AsyncSession, settings: Settings) -> None:
    org = await make_org(db)
    billing = BillingService(db, settings)
    await billing.create_plan(
        PlanCreate(slug="paid", name="Paid", answers_per_month=10, stripe_price_id="price_x")
    )
    assert (await billing.plan_for_price("price_x")) is not None
    assert await billing.plan_for_price("price_unknown") is None
    start = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    end = datetime(2027, 1, 3, 8, 0, tzinfo=UTC)
    await billing.set_period(org, start, end)
    await db.commit()
    assert billing.current_period(org, datetime(2026, 12, 20, tzinfo=UTC)) == (start, end)
    # Past its end (no renewal seen yet), periods go on monthly from its start.
    assert billing.current_period(org, datetime(2027, 1, 10, tzinfo=UTC)) == (end, add_months(start, 2))
    assert [p.slug for p in await billing.list_plans(public_only=True)] == [
        "free",
        "pro",
        "enterprise",
        "paid",
    ]
