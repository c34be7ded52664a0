"""Live chat: staff take over, hand back, assign, note, reply and close; the customer asks for a person,
rates the chat, types and reads. Every change is published live after the commit (see chat/announce.py)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import Membership
from answerdesk.auth.service import MemberService, Principal
from answerdesk.billing.models import Feature
from answerdesk.billing.service import BillingService
from answerdesk.chat import announce
from answerdesk.chat.models import Conversation, ConversationStatus, Message, Sender
from answerdesk.chat.repository import ConversationRepository
from answerdesk.chat.schemas import HandoffRead, MessageRead, RatingCreate
from answerdesk.chat.service import NOT_FOUND, ChatService, append_message
from answerdesk.kit.db import session_scope, utcnow
from answerdesk.kit.errors import Conflict, NotFound
from answerdesk.kit.events import Event
from answerdesk.languages.texts import Text, english, say
from answerdesk.runtime import Runtime

# The English wording of the system messages; customers get them in their language (languages/texts.py).
JOINED = english(Text.joined)
HANDED_BACK = english(Text.handed_back)
CLOSED = english(Text.closed)
CLOSED_BY_CUSTOMER = english(Text.closed_by_customer)
WAITING_ONLINE = english(Text.waiting_online)
WAITING_OFFLINE = english(Text.waiting_offline)
ASSIGNED = "Assigned to {assignee} by {name}."
CLOSED_CONFLICT = "This conversation is closed."
# Bot conversations nobody closed stay on the "active" list this long after their last message.
ACTIVE_WINDOW = timedelta(hours=24)
HEARTBEAT: Event = {"type": "heartbeat"}  # yielded by streams between events; never sent as a JSON event


@dataclass(frozen=True)
class Staff:
    user_id: uuid.UUID
    name: str


def staff_name(m: Membership) -> str:
    return m.user.name.strip() or m.user.email.split("@", 1)[0]


def presence_group(organization_id: uuid.UUID) -> str:
    return f"staff:{organization_id}"


class LiveChatService:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.events = runtime.events
        self.chat = ChatService(runtime)

    # -- who -----------------------------------------------------------------------------------------

    async def staff(self, db: AsyncSession, organization_id: uuid.UUID, user_id: uuid.UUID) -> Staff:
        """An active member of the organization; anyone else is a 404."""
        m = await MemberService(db).members.get_for_user(organization_id, user_id)
        if m is None or not m.is_active or not m.user.is_active:
            raise NotFound("That user is not a member of this organization.")
        return Staff(m.user_id, staff_name(m))

    async def members(self, db: AsyncSession, organization_id: uuid.UUID) -> list[Staff]:
        return [
            Staff(m.user_id, staff_name(m))
            for m in await MemberService(db).list(organization_id)
            if m.is_active and m.user.is_active
        ]

    async def agent_name(self, db: AsyncSession, conversation: Conversation) -> str | None:
        if conversation.status != ConversationStatus.human or conversation.assigned_user_id is None:
            return None
        m = await MemberService(db).members.get_for_user(
            conversation.organization_id, conversation.assigned_user_id
        )
        return staff_name(m) if m is not None else None

    async def staff_present(self, organization_id: uuid.UUID, member: str) -> None:
        await self.runtime.presence.touch(
            presence_group(organization_id), member, self.runtime.settings.staff_online_seconds
        )

    async def staff_left(self, organization_id: uuid.UUID, member: str) -> None:
        await self.runtime.presence.leave(presence_group(organization_id), member)

    async def staff_online(self, organization_id: uuid.UUID) -> bool:
        """Someone has the Live chats page open (or had, within ``staff_online_seconds``)."""
        return await self.runtime.presence.count(presence_group(organization_id)) > 0

    # -- staff actions -------------------------------------------------------------------------------

    async def locked(
        self, db: AsyncSession, organization_id: uuid.UUID, conversation_id: uuid.UUID
    ) -> Conversation:
        conversation = await ConversationRepository(db).get(organization_id, conversation_id, for_update=True)
        if conversation is None:
            raise NotFound(NOT_FOUND)
        return conversation

    async def take_over(
        self, db: AsyncSession, organization_id: uuid.UUID, conversation_id: uuid.UUID, staff: Staff
    ) -> Conversation:
        await self._require_live_chat(db, organization_id)
        conversation = await self.locked(db, organization_id, conversation_id)
        self._take_over(db, conversation, staff)
        await db.flush()
        return conversation

    async def _require_live_chat(self, db: AsyncSession, organization_id: uuid.UUID) -> None:
        await BillingService(db, self.runtime.settings).require_feature(organization_id, Feature.live_chat)

    def _take_over(self, db: AsyncSession, conversation: Conversation, staff: Staff) -> None:
        if conversation.status == ConversationStatus.closed:
            raise Conflict(CLOSED_CONFLICT)
        if conversation.status == ConversationStatus.human and conversation.assigned_user_id == staff.user_id:
            return
        conversation.status = ConversationStatus.human
        conversation.assigned_user_id = staff.user_id
        conversation.waiting_since = None
        self._system(db, conversation, Text.joined, name=staff.name)
        announce.status_changed(db, self.events, conversation, agent=staff.name)

    async def hand_back(
        self, db: AsyncSession, organization_id: uuid.UUID, conversation_id: uuid.UUID, staff: Staff
    ) -> Conversation:
        conversation = await self.locked(db, organization_id, conversation_id)
        if conversation.status == ConversationStatus.closed:
            raise Conflict(CLOSED_CONFLICT)
        if conversation.status == ConversationStatus.bot and conversation.waiting_since is None:
            return conversation
        conversation.status = ConversationStatus.bot
        conversation.assigned_user_id = None
        conversation.waiting_since = None
        self._system(db, conversation, Text.handed_back)
        announce.status_changed(db, self.events, conversation)
        await db.flush()
        return conversation

    async def assign(
        self,
        db: AsyncSession,
        organization_id: uuid.UUID,
        conversation_id: uuid.UUID,
        staff: Staff,
        assignee_id: uuid.UUID,
    ) -> Conversation:
        """Makes a colleague responsible; an internal matter, so the customer sees nothing of it."""
        assignee = await self.staff(db, organization_id, assignee_id)
        conversation = await self.locked(db, organization_id, conversation_id)
        if conversation.status == ConversationStatus.closed:
            raise Conflict(CLOSED_CONFLICT)
        if conversation.assigned_user_id != assignee.user_id:
            conversation.assigned_user_id = assignee.user_id
            append_message(
                db,
                conversation,
                Sender.note,
                ASSIGNED.format(assignee=assignee.name, name=staff.name),
                author_user_id=staff.user_id,
                events=self.events,
            )
            await db.flush()
        return conversation

    async def add_note(
        self,
        db: AsyncSession,
        organization_id: uuid.UUID,
        conversation_id: uuid.UUID,
        staff: Staff,
        content: str,
    ) -> Message:
        text = self.chat.check_content(content)
        conversation = await self.locked(db, organization_id, conversation_id)
        message = append_message(
            db, conversation, Sender.note, text, author_user_id=staff.user_id, events=self.events
        )
        await db.flush()
        return message

    async def reply(
        self,
        db: AsyncSession,
        organization_id: uuid.UUID,
        conversation_id: uuid.UUID,
        staff: Staff,
        content: str,
    ) -> Message:
        """A staff message to the customer; replying to a bot conversation takes it over first."""
        text = self.chat.check_content(content)
        conversation = await self.locked(db, organization_id, conversation_id)
        if conversation.status == ConversationStatus.closed:
            raise Conflict(CLOSED_CONFLICT)
        if conversation.status == ConversationStatus.bot:
            await self._require_live_chat(db, organization_id)
            self._take_over(db, conversation, staff)
        message = append_message(
            db, conversation, Sender.staff, text, author_user_id=staff.user_id, events=self.events
        )
        # Writing a reply means having read everything before it.
        conversation.staff_seen_seq = message.seq
        await db.flush()
        return message

    async def close(
        self, db: AsyncSession, organization_id: uuid.UUID, conversation_id: uuid.UUID, staff: Staff | None
    ) -> Conversation:
        conversation = await self.locked(db, organization_id, conversation_id)
        self._close(db, conversation, Text.closed if staff else Text.closed_by_customer)
        await db.flush()
        return conversation

    def _close(self, db: AsyncSession, conversation: Conversation, text: Text) -> None:
        if conversation.status == ConversationStatus.closed:
            return
        conversation.status = ConversationStatus.closed
        conversation.closed_at = utcnow()
        conversation.waiting_since = None
        self._system(db, conversation, text)
        announce.status_changed(db, self.events, conversation)

    def _system(self, db: AsyncSession, conversation: Conversation, text: Text, **fields: str) -> Message:
        """A system message in the customer's language (English until it is known)."""
        content = say(text, conversation.language, **fields)
        return append_message(db, conversation, Sender.system, content, events=self.events)

    async def staff_seen(
        self, db: AsyncSession, organization_id: uuid.UUID, conversation_id: uuid.UUID, seq: int | None = None
    ) -> None:
        """Staff read the conversation up to `seq` (default: everything)."""
        conversation = await self.locked(db, organization_id, conversation_id)
        self._seen(db, conversation, "staff", conversation.message_count if seq is None else seq)
        await db.flush()

    def _seen(self, db: AsyncSession, conversation: Conversation, side: str, seq: int) -> None:
        seq = min(seq, conversation.message_count)
        attr = "customer_seen_seq" if side == "customer" else "staff_seen_seq"
        if seq <= getattr(conversation, attr):
            return
        setattr(conversation, attr, seq)
        announce.seen(db, self.events, conversation, side, seq)

    # -- customer actions (with the conversation's token) --------------------------------------------

    async def handoff(
        self, db: AsyncSession, principal: Principal, conversation_id: uuid.UUID, token: str | None
    ) -> HandoffRead:
        """The customer asks for a person: the conversation waits for staff, and says whether anyone is in."""
        conversation = await self.chat.get(db, principal, conversation_id, token, for_update=True)
        if conversation.status == ConversationStatus.closed:
            raise Conflict("This conversation is closed. Start a new one to ask something else.")
        # Without live chat in the plan, nobody can join: the customer is offered the message form.
        live = await BillingService(db, self.runtime.settings).has_feature(
            conversation.organization_id, Feature.live_chat
        )
        online = live and await self.staff_online(conversation.organization_id)
        message = None
        if conversation.status == ConversationStatus.bot and conversation.waiting_since is None:
            now = utcnow()
            conversation.waiting_since = now
            conversation.handoff_at = conversation.handoff_at or now
            message = self._system(db, conversation, Text.waiting_online if online else Text.waiting_offline)
            announce.status_changed(db, self.events, conversation)
            await db.flush()
        return HandoffRead(
            status=conversation.status,
            waiting=announce.is_waiting(conversation),
            staff_online=online,
            can_leave_message=not online and conversation.status == ConversationStatus.bot,
            message=MessageRead.model_validate(message) if message else None,
        )

    async def rate(
        self,
        db: AsyncSession,
        principal: Principal,
        conversation_id: uuid.UUID,
        token: str | None,
        body: RatingCreate,
    ) -> Conversation:
        """Open or closed, any time; a later rating replaces the earlier one."""
        conversation = await self.chat.get(db, principal, conversation_id, token, for_update=True)
        conversation.rating = body.rating
        conversation.rating_comment = body.comment
        announce.conversation_changed(db, self.events, conversation)
        await db.flush()
        return conversation

    async def customer_close(
        self, db: AsyncSession, principal: Principal, conversation_id: uuid.UUID, token: str | None
    ) -> Conversation:
        conversation = await self.chat.get(db, principal, conversation_id, token, for_update=True)
        self._close(db, conversation, Text.closed_by_customer)
        await db.flush()
        return conversation

    async def customer_seen(
        self, db: AsyncSession, principal: Principal, conversation_id: uuid.UUID, token: str | None, seq: int
    ) -> None:
        conversation = await self.chat.get(db, principal, conversation_id, token, for_update=True)
        self._seen(db, conversation, "customer", seq)
        await db.flush()

    async def typing(
        self, conversation: Conversation, side: str, is_typing: bool, name: str | None = None
    ) -> None:
        if conversation.status == ConversationStatus.closed:
            return
        await announce.typing(
            self.events, conversation.organization_id, conversation.id, side, is_typing, name
        )

    # -- streams -------------------------------------------------------------------------------------

    async def customer_stream(self, conversation: Conversation, after_seq: int) -> AsyncIterator[Event]:
        """What the customer's live connection carries: the messages after `after_seq`, the current status,
        then live events, with HEARTBEAT between them. Subscribing before the replay, and skipping messages
        already sent, is what makes a reconnect lose nothing and repeat nothing."""
        organization_id, conversation_id = conversation.organization_id, conversation.id
        async with self.events.subscribe(announce.conversation_channel(conversation_id)) as live:
            last_seq = after_seq
            async with session_scope(self.runtime.sessionmaker) as db:
                current = await ConversationRepository(db).get(organization_id, conversation_id)
                if current is None:
                    return
                for m in await self.chat.messages(db, current, after_seq=after_seq):
                    last_seq = m.seq
                    yield {
                        "type": "message",
                        "message": MessageRead.model_validate(m).model_dump(mode="json"),
                    }
                yield announce.status_event(current, await self.agent_name(db, current))
                if current.staff_seen_seq:
                    yield {"type": "seen", "side": "staff", "seq": current.staff_seen_seq}
            async for event in with_heartbeats(live, self.runtime.settings.live_heartbeat_seconds):
                kind = event.get("type")
                if kind == "message":
                    seq = int(event["message"]["seq"])
                    if seq <= last_seq:
                        continue
                    last_seq = seq
                elif kind in ("typing", "seen") and event.get("side") == "customer":
                    continue  # the customer's own signals
                yield event

    async def staff_stream(self, organization_id: uuid.UUID, member: str) -> AsyncIterator[Event]:
        """Everything happening in the organization's chats, for the Live chats page; being connected keeps
        the member counted as online."""
        async with self.events.subscribe(announce.org_channel(organization_id)) as live:
            await self.staff_present(organization_id, member)
            try:
                async for event in with_heartbeats(live, self.runtime.settings.live_heartbeat_seconds):
                    if event is HEARTBEAT:
                        await self.staff_present(organization_id, member)
                    yield event
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.shield(self.staff_left(organization_id, member))

    async def live_list(
        self, db: AsyncSession, organization_id: uuid.UUID, view: str, search: str | None, *, limit: int = 100
    ) -> Sequence[tuple[Conversation, int]]:
        return await ConversationRepository(db).live(
            organization_id, view, search, recent_since=utcnow() - ACTIVE_WINDOW, limit=limit
        )


async def with_heartbeats(events: AsyncIterator[Event], every: float) -> AsyncIterator[Event]:
    """The events, with HEARTBEAT whenever none came for `every` seconds. The pending read survives the
    timeout, so no event is lost to it."""
    pending: asyncio.Future[Event] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(events))
            done, _ = await asyncio.wait({pending}, timeout=every)
            if not done:
                yield HEARTBEAT
                continue
            finished, pending = pending, None
            try:
                event = finished.result()
            except StopAsyncIteration:
                return
            yield event
    finally:
        if pending is not None and not pending.done():
            pending.cancel()


def waited(conversation: Conversation, now: datetime) -> timedelta | None:
    return now - conversation.waiting_since if conversation.waiting_since else None
