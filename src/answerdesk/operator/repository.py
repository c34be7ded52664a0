"""Read-only SQL across organizations for the operator console (the one place that is not tenant-scoped:
the operator is above the tenants)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import AuditLog, Membership, User
from answerdesk.billing.models import UsagePeriod
from answerdesk.chat.models import Conversation


class OperatorRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def last_logins(self) -> dict[uuid.UUID, datetime]:
        stmt = (
            sa.select(Membership.organization_id, sa.func.max(User.last_login_at))
            .join(User, User.id == Membership.user_id)
            .group_by(Membership.organization_id)
        )
        return {org_id: at for org_id, at in (await self.db.execute(stmt)).all() if at is not None}

    async def last_conversations(self) -> dict[uuid.UUID, datetime]:
        stmt = sa.select(Conversation.organization_id, sa.func.max(Conversation.last_message_at)).group_by(
            Conversation.organization_id
        )
        return {org_id: at for org_id, at in (await self.db.execute(stmt)).all() if at is not None}

    async def current_answers(self, now: datetime) -> dict[tuple[uuid.UUID, datetime], int]:
        """Answers used in every period still running, by organization and period start (one query for the
        whole console instead of one per organization)."""
        stmt = sa.select(
            UsagePeriod.organization_id, UsagePeriod.period_start, UsagePeriod.answers_used
        ).where(UsagePeriod.period_end > now)
        return {(org_id, start): int(n) for org_id, start, n in (await self.db.execute(stmt)).all()}

    async def member_counts(self) -> dict[uuid.UUID, int]:
        stmt = sa.select(Membership.organization_id, sa.func.count()).group_by(Membership.organization_id)
        return {org_id: int(n) for org_id, n in (await self.db.execute(stmt)).all()}

    async def admin_emails(self, organization_id: uuid.UUID) -> list[str]:
        stmt = (
            sa.select(User.email)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.organization_id == organization_id, Membership.role == "admin")
            .order_by(User.email)
        )
        return list((await self.db.scalars(stmt)).all())

    async def audit(
        self, *, organization_id: uuid.UUID | None = None, limit: int = 100
    ) -> Sequence[AuditLog]:
        """Operator actions, across the instance or for one organization."""
        stmt = sa.select(AuditLog).where(AuditLog.action.startswith("operator."))
        if organization_id is not None:
            stmt = stmt.where(AuditLog.organization_id == organization_id)
        return (await self.db.scalars(stmt.order_by(AuditLog.created_at.desc()).limit(limit))).all()
