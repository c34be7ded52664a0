"""All SQL for invitation codes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.signup.models import SignupInvitation


class InvitationRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    def add(self, invitation: SignupInvitation) -> SignupInvitation:
        self.db.add(invitation)
        return invitation

    async def get(self, invitation_id: uuid.UUID) -> SignupInvitation | None:
        return await self.db.get(SignupInvitation, invitation_id)

    async def by_hash(self, code_hash: str) -> SignupInvitation | None:
        return await self.db.scalar(
            sa.select(SignupInvitation).where(SignupInvitation.code_hash == code_hash)
        )

    async def claim(self, invitation_id: uuid.UUID, organization_id: uuid.UUID, now: datetime) -> bool:
        """Marks the code used unless someone else did first (two sign-ups racing with one code)."""
        result = await self.db.execute(
            sa.update(SignupInvitation)
            .where(SignupInvitation.id == invitation_id, SignupInvitation.used_at.is_(None))
            .values(used_at=now, used_by_organization_id=organization_id)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0) == 1)

    async def list(self, *, limit: int = 200) -> Sequence[SignupInvitation]:
        stmt = sa.select(SignupInvitation).order_by(SignupInvitation.created_at.desc()).limit(limit)
        return (await self.db.scalars(stmt)).all()
