"""The Live chats list puts the most pressing conversations first: frustrated waiting customers, the other
waiting ones (longest wait first), open frustrated chats, chats with staff, then the rest."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.chat.models import Channel, Conversation, ConversationStatus
from answerdesk.chat.repository import ConversationRepository
from answerdesk.kit.db import utcnow
from tests.factories import make_org


async def test_frustrated_and_waiting_lead_then_longest_wait(db: AsyncSession) -> None:
    org = await make_org(db)
    now = utcnow()

    def chat(
        name: str, *, waiting_min: float | None = None, frustrated: bool = False, **fields: object
    ) -> None:
        values: dict[str, object] = {
            "channel": Channel.widget,
            "token_hash": uuid.uuid4().hex * 2,
            "customer_name": name,
            "status": ConversationStatus.bot,
            "last_message_at": now - timedelta(minutes=1),
            "frustrated": frustrated,
        }
        if waiting_min is not None:
            values["waiting_since"] = now - timedelta(minutes=waiting_min)
        values.update(fields)
        db.add(Conversation(organization_id=org.id, **values))

    chat("calm bot chat, latest message", last_message_at=now)
    chat("waiting 5 min", waiting_min=5)
    chat("waiting 30 min", waiting_min=30)
    chat("frustrated, waiting 2 min", waiting_min=2, frustrated=True)
    chat("frustrated, waiting 10 min", waiting_min=10, frustrated=True)
    chat("frustrated with the bot", frustrated=True)
    chat("with staff", status=ConversationStatus.human, last_message_at=now - timedelta(minutes=3))
    chat("frustrated but closed", frustrated=True, status=ConversationStatus.closed)
    await db.commit()

    rows = await ConversationRepository(db).live(
        org.id, "active", None, recent_since=now - timedelta(hours=1), limit=20
    )
    assert [c.customer_name for c, _ in rows] == [
        "frustrated, waiting 10 min",
        "frustrated, waiting 2 min",
        "waiting 30 min",
        "waiting 5 min",
        "frustrated with the bot",
        "with staff",
        "calm bot chat, latest message",
    ]
    waiting = await ConversationRepository(db).live(
        org.id, "waiting", None, recent_since=now - timedelta(hours=1), limit=20
    )
    assert [c.customer_name for c, _ in waiting] == [
        "frustrated, waiting 10 min",
        "frustrated, waiting 2 min",
        "waiting 30 min",
        "waiting 5 min",
    ]
