"""What an instance operator may do: see every organization, suspend and resume one, change its plan.
Every action is written to the audit log with the operator as actor."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import AuditLog, User
from answerdesk.auth.repository import UserRepository
from answerdesk.auth.service import AuditService
from answerdesk.billing.service import BillingService, unlimited_plan
from answerdesk.config import Settings
from answerdesk.kit.db import utcnow
from answerdesk.kit.errors import Conflict, Forbidden, NotFound
from answerdesk.operator.repository import OperatorRepository
from answerdesk.tenants.models import Organization
from answerdesk.tenants.service import OrganizationService


@dataclass(frozen=True)
class OrganizationRow:
    organization: Organization
    plan: str
    answers_used: int
    answers_limit: int | None
    members: int
    last_activity: datetime | None

    @property
    def status(self) -> str:
        return "suspended" if self.organization.is_suspended else "active"


class OperatorService:
    def __init__(self, db: AsyncSession, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.billing = BillingService(db, settings)
        self.orgs = OrganizationService(db)
        self.repo = OperatorRepository(db)
        self.audit = AuditService(db)

    async def operator(self, user_id: uuid.UUID) -> User:
        """The logged-in user, if they are an active operator; anyone else is told the page does not exist."""
        user = await UserRepository(self.db).get(user_id)
        if user is None or not user.is_active or not user.is_operator:
            raise NotFound("Page not found.")
        return user

    async def organizations(self) -> list[OrganizationRow]:
        orgs = await self.orgs.list()
        now = utcnow()
        logins, chats, members, answers = (
            await self.repo.last_logins(),
            await self.repo.last_conversations(),
            await self.repo.member_counts(),
            await self.repo.current_answers(now),
        )
        # Plans resolved here as BillingService.get_plan_for_org does, but from one read of the plan table.
        plans = await self.billing.list_plans()
        by_id = {p.id: p for p in plans}
        default_slug = self.settings.default_plan
        default = next((p for p in plans if p.slug == default_slug), None) or unlimited_plan(default_slug)
        rows = []
        for org in orgs:
            seen = [t for t in (logins.get(org.id), chats.get(org.id)) if t is not None]
            plan = (by_id.get(org.plan_id) if org.plan_id is not None else None) or default
            start, _ = self.billing.current_period(org, now)
            rows.append(
                OrganizationRow(
                    organization=org,
                    plan=plan.name,
                    answers_used=answers.get((org.id, start), 0),
                    answers_limit=plan.answers_per_month,
                    members=members.get(org.id, 0),
                    last_activity=max(seen) if seen else None,
                )
            )
        return rows

    async def plan_usage(self, org: Organization) -> tuple[str, int, int | None]:
        """The plan's name, answers used this period and the plan's answer limit (None: unlimited)."""
        plan = await self.billing.get_plan_for_org(org)
        usage = await self.billing.usage(org)
        return plan.name, usage.answers_used, usage.answers_limit

    async def plan_choices(self) -> list[tuple[str, str]]:
        """(slug, name) of every plan, public or not: Enterprise deals are made by hand."""
        return [(p.slug, p.name) for p in await self.billing.list_plans()]

    async def change_plan(self, organization_id: uuid.UUID, slug: str, *, actor: User, ip: str = "") -> str:
        self._check(actor)
        org = await self.orgs.get(organization_id)
        before = await self.billing.get_plan_for_org(org)
        plan = await self.billing.set_plan(org, slug)
        self.audit.record(
            "operator.plan_changed",
            organization_id=org.id,
            actor_id=actor.id,
            target=org.slug,
            ip=ip,
            details={"from": before.slug, "to": plan.slug},
        )
        await self.db.flush()
        return plan.name

    async def get(self, organization_id: uuid.UUID) -> Organization:
        return await self.orgs.get(organization_id)

    async def admin_emails(self, organization_id: uuid.UUID) -> list[str]:
        return await self.repo.admin_emails(organization_id)

    async def suspend(
        self, organization_id: uuid.UUID, *, reason: str, actor: User, ip: str = ""
    ) -> Organization:
        self._check(actor)
        org = await self.orgs.get(organization_id)
        if org.is_suspended:
            raise Conflict(f"{org.name} is already suspended.")
        org.suspended_at = utcnow()
        org.suspended_reason = reason.strip()[:300]
        self.audit.record(
            "operator.org_suspended",
            organization_id=org.id,
            actor_id=actor.id,
            target=org.slug,
            ip=ip,
            details={"reason": org.suspended_reason},
        )
        await self.db.flush()
        return org

    async def resume(self, organization_id: uuid.UUID, *, actor: User, ip: str = "") -> Organization:
        self._check(actor)
        org = await self.orgs.get(organization_id)
        if not org.is_suspended:
            raise Conflict(f"{org.name} is not suspended.")
        since = org.suspended_at
        org.suspended_at = None
        org.suspended_reason = ""
        self.audit.record(
            "operator.org_resumed",
            organization_id=org.id,
            actor_id=actor.id,
            target=org.slug,
            ip=ip,
            details={"suspended_at": since.isoformat() if since else None},
        )
        await self.db.flush()
        return org

    async def audit_log(
        self, organization_id: uuid.UUID | None = None, limit: int = 100
    ) -> Sequence[AuditLog]:
        return await self.repo.audit(organization_id=organization_id, limit=limit)

    @staticmethod
    def _check(actor: User) -> None:
        if not actor.is_operator or not actor.is_active:
            raise Forbidden("Only instance operators may do this.")
