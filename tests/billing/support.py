"""Helpers for the billing tests (no tests here)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.billing.models import UsagePeriod
from answerdesk.billing.schemas import PlanCreate
from answerdesk.billing.service import BillingService
from answerdesk.config import Settings
from answerdesk.tenants.models import Organization


async def put_on_plan(
    db: AsyncSession, settings: Settings, org: Organization, slug: str = "tiny", **limits: object
) -> None:
    """A plan with the given limits (created if new), and the organization moved onto it."""
    billing = BillingService(db, settings)
    if await billing.plans.by_slug(slug) is None:
        # Tests call the API with secret keys: API access unless a test says otherwise.
        fields = {"slug": slug, "name": slug.title(), "feature_api_access": True, **limits}
        await billing.create_plan(PlanCreate.model_validate(fields))
    await billing.set_plan(org, slug)
    await db.commit()


async def answers_used(db: AsyncSession, organization_id: uuid.UUID) -> int:
    rows = await db.scalars(
        sa.select(UsagePeriod.answers_used).where(UsagePeriod.organization_id == organization_id)
    )
    return sum(rows.all())
