"""Live chat figures for the widget and the Live chats page: staff online, typical staff reply time, rating.

The staff reply time is defined once, here (:func:`reply_waits`): in a live chat, the time from the
moment a customer starts waiting for staff to the next staff message. A customer starts waiting when
they ask for a person (the handoff button's system message, or the bot's handoff answer when they asked
in words) or, once staff have written in the chat, with their next message; a bot message in between
means the chat was handed back, and the customer's following messages are the bot's to answer. Waits
nobody answered have no reply time and are not counted.
"""

from __future__ import annotations

import math
import statistics
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.chat.live import ACTIVE_WINDOW, LiveChatService
from answerdesk.chat.models import AnswerMode, Sender
from answerdesk.chat.repository import ConversationRepository
from answerdesk.kit.db import utcnow
from answerdesk.runtime import Runtime

REPLY_WINDOW = timedelta(days=7)
RATING_WINDOW = timedelta(days=30)
_CACHE_SIZE = 10_000


@dataclass(frozen=True)
class ChatStats:
    staff_online: int
    median_reply_seconds: float | None  # None: no staff reply in the window
    replies_measured: int
    average_rating: float | None
    ratings: int

    @property
    def typical_reply_minutes(self) -> int | None:
        """The median rounded up to whole minutes (at least 1): what the widget promises."""
        if self.median_reply_seconds is None:
            return None
        return max(1, math.ceil(self.median_reply_seconds / 60))


def reply_waits(
    messages: Iterable[tuple[uuid.UUID, str, str | None, datetime]], since: datetime
) -> list[float]:
    """Seconds from each wait for staff to the staff message ending it, for staff messages since ``since``.

    ``messages``: (conversation, sender, mode, created_at) in conversation order, each conversation's
    messages together (see the module docstring for when a wait starts).
    """
    waits: list[float] = []
    current: uuid.UUID | None = None
    start: datetime | None = None
    staffed = False
    for conversation_id, sender, mode, at in messages:
        if conversation_id != current:
            current, start, staffed = conversation_id, None, False
        if sender in (Sender.system, Sender.bot) and mode == AnswerMode.handoff:
            # The handoff button's system message, or the bot's reply to "a person, please".
            start = start or at
            staffed = False
        elif sender == Sender.customer:
            if staffed or start is not None:
                start = start or at
        elif sender == Sender.staff:
            if start is not None and at >= since:
                waits.append(max(0.0, (at - start).total_seconds()))
            start, staffed = None, True
        elif sender == Sender.bot:
            staffed = False
    return waits


class ChatStatsService:
    """The figures, kept ``chat_stats_cache_seconds`` per organization in this process."""

    _cache: dict[uuid.UUID, tuple[float, ChatStats]] = {}

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def stats(self, db: AsyncSession, organization_id: uuid.UUID) -> ChatStats:
        ttl = self.runtime.settings.chat_stats_cache_seconds
        cached = self._cache.get(organization_id)
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            return cached[1]
        stats = await self._compute(db, organization_id)
        if ttl > 0:
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.clear()  # a crude bound; the figures are cheap to compute again
            self._cache[organization_id] = (now + ttl, stats)
        return stats

    async def _compute(self, db: AsyncSession, organization_id: uuid.UUID) -> ChatStats:
        now = utcnow()
        conversations = ConversationRepository(db)
        since = now - REPLY_WINDOW
        waits = reply_waits(await conversations.staffed_threads(organization_id, since), since)
        average, ratings = await conversations.rating_summary(organization_id, now - RATING_WINDOW)
        online = await LiveChatService(self.runtime).staff_online_count(organization_id)
        return ChatStats(
            staff_online=online,
            median_reply_seconds=statistics.median(waits) if waits else None,
            replies_measured=len(waits),
            average_rating=None if average is None else round(average, 2),
            ratings=ratings,
        )

    async def live_counts(self, db: AsyncSession, organization_id: uuid.UUID) -> tuple[int, int]:
        """(active, waiting) chats right now, as the Live chats page lists them; never cached."""
        return await ConversationRepository(db).live_counts(
            organization_id, recent_since=utcnow() - ACTIVE_WINDOW
        )
