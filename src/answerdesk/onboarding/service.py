"""The getting-started checklist: four steps that tick themselves from the organization's real state."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.service import AuditService
from answerdesk.kit.db import utcnow
from answerdesk.kit.errors import ValidationFailed
from answerdesk.onboarding.repository import OnboardingRepository
from answerdesk.tenants.service import OrganizationService

# Kept in the organization's settings under this key: the events no table records, and the dismissal.
SETTINGS_KEY = "onboarding"
EVENTS = frozenset({"widget_snippet_copied"})


@dataclass(frozen=True)
class Step:
    key: str
    label: str
    hint: str
    href: str
    done: bool


@dataclass(frozen=True)
class Checklist:
    steps: list[Step]
    dismissed: bool

    @property
    def done_count(self) -> int:
        return sum(s.done for s in self.steps)

    @property
    def complete(self) -> bool:
        return all(s.done for s in self.steps)

    @property
    def visible(self) -> bool:
        return not (self.complete or self.dismissed)


class OnboardingService:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db
        self.repo = OnboardingRepository(db)
        self.orgs = OrganizationService(db)

    async def checklist(self, organization_id: uuid.UUID) -> Checklist:
        org = await self.orgs.get(organization_id)
        state = (org.settings or {}).get(SETTINGS_KEY) or {}
        steps = [
            Step(
                "knowledge",
                "Add knowledge",
                "Upload documents, import your help centre or write FAQs.",
                "/admin/knowledge",
                await self.repo.has_documents(org.id),
            ),
            Step(
                "playground",
                "Try the Playground",
                "Ask a question the way a customer would and see the answer with its sources.",
                "/admin/ai/playground",
                await self.repo.asked_in_playground(org.id),
            ),
            Step(
                "widget",
                "Copy the widget snippet",
                "Make a widget key and paste the one-line snippet into your website.",
                "/admin/widget#embed",
                bool(state.get("widget_snippet_copied_at")),
            ),
            Step(
                "whmcs",
                "Connect WHMCS",
                "Sync tickets and get AI drafts for your replies.",
                "/admin/whmcs",
                await self.repo.has_whmcs(org.id),
            ),
        ]
        return Checklist(steps=steps, dismissed=bool(state.get("dismissed_at")))

    async def record(self, organization_id: uuid.UUID, event: str) -> None:
        """Remembers the first time an event happened (later ones change nothing)."""
        if event not in EVENTS:
            raise ValidationFailed(f"Unknown onboarding event {event!r}.")
        await self._set(organization_id, f"{event}_at")

    async def dismiss(self, organization_id: uuid.UUID, *, actor_id: uuid.UUID, ip: str = "") -> None:
        await self._set(organization_id, "dismissed_at")
        AuditService(self.db).record(
            "onboarding.dismissed", organization_id=organization_id, actor_id=actor_id, ip=ip
        )

    async def _set(self, organization_id: uuid.UUID, field: str) -> None:
        org = await self.orgs.get(organization_id)
        state = dict((org.settings or {}).get(SETTINGS_KEY) or {})
        if state.get(field):
            return
        state[field] = utcnow().isoformat()
        # A new dict, so the JSON column is seen as changed; other groups of settings are kept.
        org.settings = {**(org.settings or {}), SETTINGS_KEY: state}
        await self.db.flush()
