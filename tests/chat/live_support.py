"""Helpers for the live chat tests (no tests here): an organization with staff and keys, event collectors."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import ApiKeyKind, Role
from answerdesk.auth.service import MemberService, Principal
from answerdesk.chat.live import LiveChatService, Staff
from answerdesk.chat.models import Channel
from answerdesk.chat.schemas import ConversationCreate
from answerdesk.chat.service import ChatService
from answerdesk.kit.db import session_scope
from answerdesk.kit.events import EventBus
from answerdesk.runtime import Runtime
from answerdesk.tenants.models import Organization
from tests.factories import PASSWORD, make_key, make_org

ORIGIN = "https://shop.example.com"


@dataclass
class LiveOrg:
    org: Organization
    staff: Staff
    staff_email: str
    public_key: str
    secret_key: str

    @property
    def id(self) -> uuid.UUID:
        return self.org.id

    def public(self) -> Principal:
        return Principal(organization_id=self.org.id, kind="public", scopes=frozenset({"chat"}))


async def add_staff(
    db: AsyncSession, org: Organization, name: str, role: Role = Role.staff, email: str | None = None
) -> Staff:
    email = email or f"{name.lower()}-{uuid.uuid4().hex[:6]}@example.com"
    m, _ = await MemberService(db).create(org.id, email, role, name=name, password=PASSWORD)
    await db.commit()
    return Staff(m.user_id, name)


async def live_org(db: AsyncSession, staff_name: str = "Anna") -> LiveOrg:
    org = await make_org(db)
    email = f"{staff_name.lower()}-{uuid.uuid4().hex[:6]}@example.com"
    staff = await add_staff(db, org, staff_name, Role.admin, email)
    public = await make_key(db, org, ApiKeyKind.public, origins=[ORIGIN])
    secret = await make_key(db, org)
    return LiveOrg(org, staff, email, public, secret)


async def start_conversation(runtime: Runtime, org: LiveOrg) -> tuple[uuid.UUID, str]:
    async with session_scope(runtime.sessionmaker) as db:
        conversation, token = await ChatService(runtime).start(
            db, org.id, ConversationCreate(), Channel.widget
        )
        return conversation.id, token


async def customer_says(runtime: Runtime, org: LiveOrg, cid: uuid.UUID, token: str, text: str) -> Any:
    """A customer message through the service, answered by the bot when the bot has the conversation."""
    service = ChatService(runtime)
    async with session_scope(runtime.sessionmaker) as db:
        accepted = await service.accept(db, org.public(), cid, token, text)
    return await service.answer(accepted)


def customer_headers(org: LiveOrg, token: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {org.public_key}", "Origin": ORIGIN}
    if token is not None:
        headers["X-Conversation-Token"] = token
    return headers


def live(runtime: Runtime) -> LiveChatService:
    return LiveChatService(runtime)


class Collector:
    """Everything published on one channel while the block runs."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("type") == kind]

    async def wait_for(self, check: Callable[[list[dict[str, Any]]], bool], timeout: float = 5.0) -> None:
        await until(lambda: check(self.events), timeout)


@contextlib.asynccontextmanager
async def collecting(bus: EventBus, channel: str) -> AsyncIterator[Collector]:
    collector = Collector()
    ready = asyncio.Event()

    async def run() -> None:
        async with bus.subscribe(channel) as events:
            ready.set()
            async for event in events:
                collector.events.append(event)

    task = asyncio.create_task(run())
    await asyncio.wait_for(ready.wait(), 10)
    try:
        yield collector
    finally:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task


async def until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    """Waits for a condition, with a deadline (never a bare sleep)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met within the deadline")
        await asyncio.sleep(0.01)
