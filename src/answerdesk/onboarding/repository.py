"""Read-only checks for the checklist: does the organization have documents, a Playground question, WHMCS.

One EXISTS per fact, always scoped to the organization; the owning areas' services would each load far
more than a yes or no."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.chat.models import Channel, Conversation, Message, Sender
from answerdesk.knowledge.models import Document
from answerdesk.tickets.models import WhmcsConnection


class OnboardingRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def _exists(self, stmt: sa.Select[Any]) -> bool:
        return bool(await self.db.scalar(sa.select(sa.exists(stmt))))

    async def has_documents(self, organization_id: uuid.UUID) -> bool:
        return await self._exists(sa.select(Document.id).where(Document.organization_id == organization_id))

    async def asked_in_playground(self, organization_id: uuid.UUID) -> bool:
        return await self._exists(
            sa.select(Message.id)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(
                Message.organization_id == organization_id,
                Conversation.channel == Channel.playground,
                Message.sender == Sender.customer,
            )
        )

    async def has_whmcs(self, organization_id: uuid.UUID) -> bool:
        return await self._exists(
            sa.select(WhmcsConnection.id).where(WhmcsConnection.organization_id == organization_id)
        )
