"""Retention: the nightly job deletes conversations and native tickets past an organization's limit, keeps the
recent ones, WHMCS copies and organizations without a limit; expired exports are deleted."""

from __future__ import annotations

from datetime import timedelta

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.chat.models import Conversation, Message
from answerdesk.kit.db import session_scope, utcnow
from answerdesk.kit.jobs import registry
from answerdesk.privacy.models import ExportStatus, OrganizationExport
from answerdesk.privacy.service import apply_retention, expire_exports
from answerdesk.runtime import Runtime
from answerdesk.tickets.models import Ticket, TicketMessage
from tests.factories import bearer, make_key, make_org
from tests.knowledge.ingest_support import drain
from tests.privacy.support import API
from tests.tickets.native import native_ticket


async def conversation(runtime: Runtime, organization_id: object, days_ago: int) -> object:
    at = utcnow() - timedelta(days=days_ago)
    async with session_scope(runtime.sessionmaker) as db:
        c = Conversation(
            organization_id=organization_id,
            channel="widget",
            token_hash="x" * 64,
            created_at=at,
            last_message_at=at,
        )
        db.add(c)
        await db.flush()
        db.add(
            Message(
                organization_id=organization_id, conversation_id=c.id, seq=1, sender="customer", content="hi"
            )
        )
        return c.id


async def test_retention_deletes_old_conversations_and_native_tickets_only(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org = await make_org(db)
    keeper = await make_org(db)  # no retention set: keeps everything
    headers = bearer(await make_key(db, org))
    assert (await client.get(f"{API}/settings", headers=headers)).json() == {"retention_days": None}
    bad = await client.put(f"{API}/settings", headers=headers, json={"retention_days": 0})
    assert bad.status_code == 422
    saved = await client.put(f"{API}/settings", headers=headers, json={"retention_days": 30})
    assert saved.status_code == 200 and saved.json() == {"retention_days": 30}

    old_chat = await conversation(runtime, org.id, 45)
    new_chat = await conversation(runtime, org.id, 2)
    kept_chat = await conversation(runtime, keeper.id, 400)
    old = utcnow() - timedelta(days=45)
    old_ticket = await native_ticket(runtime, org.id, opened_at=old, last_message_at=old)
    new_ticket = await native_ticket(runtime, org.id)
    whmcs = await native_ticket(
        runtime, org.id, source="whmcs", external_id="77", opened_at=old, last_message_at=old
    )
    assert "privacy.apply_retention" in {s.name for s in registry.schedules()}

    done = await apply_retention(runtime)
    assert done == {str(org.id): {"conversations": 1, "tickets": 1}}
    async with runtime.sessionmaker() as s:
        chats = set((await s.scalars(sa.select(Conversation.id))).all())
        assert chats == {new_chat, kept_chat} and old_chat not in chats
        tickets = set((await s.scalars(sa.select(Ticket.id))).all())
        assert tickets == {new_ticket.id, whmcs.id}
        assert await s.scalar(sa.select(sa.func.count()).select_from(Message)) == 2
        orphans = (
            sa.select(sa.func.count())
            .select_from(TicketMessage)
            .where(TicketMessage.ticket_id == old_ticket.id)
        )
        assert await s.scalar(orphans) == 0
    assert await apply_retention(runtime) == {}  # nothing more to do


async def test_expired_exports_are_deleted_with_their_zip(db: AsyncSession, runtime: Runtime) -> None:
    org = await make_org(db)
    key = f"org/{org.id}/exports/old.zip"
    await runtime.storage.put(key, b"PK")
    async with session_scope(runtime.sessionmaker) as s:
        for hours, storage_key in ((-1, key), (5, None)):
            s.add(
                OrganizationExport(
                    organization_id=org.id,
                    status=ExportStatus.ready,
                    storage_key=storage_key,
                    expires_at=utcnow() + timedelta(hours=hours),
                )
            )
    assert await expire_exports(runtime) == 1
    assert not await runtime.storage.exists(key)
    async with runtime.sessionmaker() as s:
        assert await s.scalar(sa.select(sa.func.count()).select_from(OrganizationExport)) == 1


async def test_an_interrupted_export_does_not_block_the_next(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org = await make_org(db)
    headers = bearer(await make_key(db, org))
    async with session_scope(runtime.sessionmaker) as s:
        s.add(
            OrganizationExport(
                organization_id=org.id, status=ExportStatus.running, created_at=utcnow() - timedelta(hours=3)
            )
        )
    requested = await client.post(f"{API}/organization-exports", headers=headers)
    assert requested.status_code == 202, requested.text
    await drain(runtime)
    listed = (await client.get(f"{API}/organization-exports", headers=headers)).json()
    assert sorted(e["status"] for e in listed) == ["failed", "ready"]
