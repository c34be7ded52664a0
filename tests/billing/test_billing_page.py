"""The admin Billing page: the plan, usage bars, and the plans table (admins only)."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import Role
from answerdesk.billing.service import AnswerQuota, BillingService
from answerdesk.runtime import Runtime
from tests.factories import logged_in, make_member, make_org


async def test_admin_sees_plan_and_usage(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org = await make_org(db)
    admin = await make_member(db, org)
    await BillingService(db, runtime.settings).set_plan(org, "free")
    await db.commit()
    quota = AnswerQuota(runtime.sessionmaker, runtime.settings, runtime.jobs)
    for _ in range(7):
        await quota.reserve(org.id)
    session = await logged_in(client, admin.user.email)
    page = await session.client.get("/admin/billing")
    assert page.status_code == 200
    html = page.text
    assert "Free plan" in html and "0.00 USD" in html
    assert "7 / 100" in html and "0 / 1,000" in html and "1 / 2" in html
    assert 'aria-valuenow="7"' in html and 'aria-valuenow="50"' in html
    assert 'href="/admin/billing" aria-current="page"' in html
    # Every plan on offer, the current one marked.
    for name in ("Free", "Pro", "Enterprise"):
        assert f"<td>{name}" in html
    assert "billing-actions" in html  # where upgrade and portal buttons go


async def test_unlimited_plan_shows_no_bars(client: httpx.AsyncClient, db: AsyncSession) -> None:
    org = await make_org(db)  # default plan: enterprise
    admin = await make_member(db, org)
    session = await logged_in(client, admin.user.email)
    html = (await session.client.get("/admin/billing")).text
    assert "Enterprise plan" in html and html.count("meter-bar unlimited") == 3
    assert "1 / unlimited" in html


async def test_staff_cannot_open_billing(client: httpx.AsyncClient, db: AsyncSession) -> None:
    org = await make_org(db)
    staff = await make_member(db, org, role=Role.staff)
    session = await logged_in(client, staff.user.email)
    assert (await session.client.get("/admin/billing")).status_code == 403
    assert 'href="/admin/billing"' not in (await session.client.get("/admin")).text
