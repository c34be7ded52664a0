"""All SQL for organizations."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.tenants.models import Organization


class OrganizationRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def get(self, organization_id: uuid.UUID) -> Organization | None:
        return await self.db.get(Organization, organization_id)

    async def by_slug(self, slug: str) -> Organization | None:
        return await self.db.scalar(sa.select(Organization).where(Organization.slug == slug))

    async def list(self) -> Sequence[Organization]:
        return (await self.db.scalars(sa.select(Organization).order_by(Organization.name))).all()

    async def count(self) -> int:
        return int(await self.db.scalar(sa.select(sa.func.count()).select_from(Organization)) or 0)

    def add(self, org: Organization) -> Organization:
        self.db.add(org)
        return org
