"""Helpers for the chat tests (no tests here): a seeded organization and calls to the chat API."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.chat.models import Message
from answerdesk.demo.seed import demo_files
from answerdesk.kit.db import session_scope
from answerdesk.knowledge.service import KnowledgeService
from answerdesk.knowledge.tasks import run_ingest
from answerdesk.runtime import Runtime
from tests.factories import bearer, make_key, make_org

API = "/api/v1/conversations"
# Enough of the demo help centre for in-scope, FAQ and out-of-scope questions, and quick to embed.
DEMO_SUBSET = ("cpanel.md", "dns.md", "email-setup.md", "faq.json")


async def seed_demo_subset(
    runtime: Runtime, organization_id: uuid.UUID, names: tuple[str, ...] = DEMO_SUBSET
) -> None:
    files = [(n, d) for n, d in demo_files() if n in names]
    async with session_scope(runtime.sessionmaker) as db:
        service = KnowledgeService.of(db, runtime)
        ids = [(await service.upload(organization_id, filename=n, data=d)).id for n, d in files]
    for doc_id in ids:
        await run_ingest(runtime, organization_id, doc_id)


async def add_document(runtime: Runtime, organization_id: uuid.UUID, filename: str, text: str) -> None:
    async with session_scope(runtime.sessionmaker) as db:
        doc = await KnowledgeService.of(db, runtime).upload(
            organization_id, filename=filename, data=text.encode()
        )
    await run_ingest(runtime, organization_id, doc.id)


@dataclass
class SseEvent:
    event: str
    data: dict[str, Any]


def parse_sse(body: str) -> list[SseEvent]:
    events = []
    for block in body.split("\n\n"):
        if not block.strip():
            continue
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        events.append(SseEvent(fields["event"], json.loads(fields["data"])))
    return events


@dataclass
class Chat:
    """One organization's view of the chat API through one client and its secret key."""

    client: httpx.AsyncClient
    headers: dict[str, str]
    runtime: Runtime
    organization_id: uuid.UUID

    async def start(self, **body: Any) -> tuple[str, str]:
        response = await self.client.post(API, headers=self.headers, json=body or None)
        assert response.status_code == 201, response.text
        return response.json()["id"], response.json()["token"]

    async def send(self, conversation_id: str, content: str, **headers: str) -> httpx.Response:
        return await self.client.post(
            f"{API}/{conversation_id}/messages",
            headers={**self.headers, **headers},
            json={"content": content},
        )

    async def ask(self, content: str) -> dict[str, Any]:
        conversation_id, _ = await self.start()
        response = await self.send(conversation_id, content)
        assert response.status_code == 200, response.text
        reply: dict[str, Any] = response.json()
        return reply

    async def stream(self, conversation_id: str, content: str) -> list[SseEvent]:
        response = await self.send(conversation_id, content, Accept="text/event-stream")
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/event-stream")
        return parse_sse(response.text)

    async def get(self, conversation_id: str, **headers: str) -> httpx.Response:
        return await self.client.get(f"{API}/{conversation_id}", headers={**self.headers, **headers})


async def make_chat(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime, *, seed: bool = True
) -> Chat:
    org = await make_org(db)
    chat = Chat(client, bearer(await make_key(db, org)), runtime, org.id)
    if seed:
        await seed_demo_subset(runtime, org.id)
    return chat


async def stored_messages(runtime: Runtime, conversation_id: str) -> list[Message]:
    async with runtime.sessionmaker() as db:
        rows = await db.scalars(
            sa.select(Message)
            .where(Message.conversation_id == uuid.UUID(conversation_id))
            .order_by(Message.seq)
        )
        return list(rows.all())
