"""All SQL for users, memberships, API keys and the audit log."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import ApiKey, AuditLog, Membership, Role, User


class UserRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def get(self, user_id: uuid.UUID) -> User | None:
        return await self.db.get(User, user_id)

    async def by_email(self, email: str) -> User | None:
        return await self.db.scalar(sa.select(User).where(User.email == email.strip().lower()))

    def add(self, user: User) -> User:
        self.db.add(user)
        return user


class MembershipRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def list(self, organization_id: uuid.UUID) -> Sequence[Membership]:
        stmt = (
            sa.select(Membership)
            .join(User)
            .where(Membership.organization_id == organization_id)
            .order_by(User.email)
        )
        return (await self.db.scalars(stmt)).all()

    async def get_for_user(self, organization_id: uuid.UUID, user_id: uuid.UUID) -> Membership | None:
        return await self.db.scalar(
            sa.select(Membership).where(
                Membership.organization_id == organization_id, Membership.user_id == user_id
            )
        )

    async def for_user(self, user_id: uuid.UUID) -> Sequence[Membership]:
        stmt = sa.select(Membership).where(Membership.user_id == user_id, Membership.is_active.is_(True))
        return (await self.db.scalars(stmt)).all()

    async def count_active_admins(self, organization_id: uuid.UUID) -> int:
        stmt = (
            sa.select(sa.func.count())
            .select_from(Membership)
            .join(User)
            .where(
                Membership.organization_id == organization_id,
                Membership.role == Role.admin,
                Membership.is_active.is_(True),
                User.is_active.is_(True),
            )
        )
        return int(await self.db.scalar(stmt) or 0)

    def add(self, membership: Membership) -> Membership:
        self.db.add(membership)
        return membership

    async def delete(self, membership: Membership) -> None:
        await self.db.delete(membership)


class ApiKeyRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def list(self, organization_id: uuid.UUID) -> Sequence[ApiKey]:
        stmt = (
            sa.select(ApiKey)
            .where(ApiKey.organization_id == organization_id)
            .order_by(ApiKey.created_at.desc())
        )
        return (await self.db.scalars(stmt)).all()

    async def get(self, organization_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey | None:
        return await self.db.scalar(
            sa.select(ApiKey).where(ApiKey.organization_id == organization_id, ApiKey.id == key_id)
        )

    async def by_hash(self, key_hash: str) -> ApiKey | None:
        # The one unscoped lookup: the key itself is what tells us the tenant.
        return await self.db.scalar(sa.select(ApiKey).where(ApiKey.key_hash == key_hash))

    def add(self, key: ApiKey) -> ApiKey:
        self.db.add(key)
        return key

    async def touch(self, organization_id: uuid.UUID, key_id: uuid.UUID, now: datetime) -> None:
        """Records a use; a process that cached the key does so at most once a minute."""
        await self.db.execute(
            sa.update(ApiKey)
            .where(ApiKey.organization_id == organization_id, ApiKey.id == key_id)
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )


class AuditRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    def add(self, entry: AuditLog) -> None:
        self.db.add(entry)

    async def list(self, organization_id: uuid.UUID, *, limit: int = 100) -> Sequence[AuditLog]:
        stmt = (
            sa.select(AuditLog)
            .where(AuditLog.organization_id == organization_id)
            .order_by(AuditLog.created_at.desc())
            .limit(limit)
        )
        return (await self.db.scalars(stmt)).all()
