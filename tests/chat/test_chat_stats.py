"""Live chat stats: staff online, the median staff reply time over 7 days, the average rating."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.chat.models import AnswerMode, Message, Sender
from answerdesk.chat.schemas import RatingCreate
from answerdesk.chat.stats import ChatStats, ChatStatsService, reply_waits
from answerdesk.kit.db import session_scope, utcnow
from answerdesk.runtime import Runtime
from tests.chat.live_support import ORIGIN, LiveOrg, customer_headers, customer_says, live, live_org
from tests.chat.live_support import start_conversation as start
from tests.factories import bearer

STATS = "/api/v1/chat/stats"
C1, C2 = uuid.uuid4(), uuid.uuid4()
T0 = datetime(2026, 12, 1, 12, 0, tzinfo=utcnow().tzinfo)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_a_wait_starts_at_the_handoff_or_after_staff_spoke_and_ends_at_the_staff_reply() -> None:
    handoff = AnswerMode.handoff.value
    messages = [
        (C1, Sender.customer, None, at(0)),  # the bot's to answer: nobody waits for staff yet
        (C1, Sender.bot, "llm", at(0.1)),
        (C1, Sender.system, handoff, at(1)),  # "a person, please": the wait starts
        (C1, Sender.customer, None, at(2)),  # still the same wait
        (C1, Sender.staff, None, at(5)),  # 4 minutes
        (C1, Sender.staff, None, at(6)),  # nobody was waiting
        (C1, Sender.customer, None, at(10)),
        (C1, Sender.staff, None, at(11)),  # 1 minute
        (C1, Sender.bot, "llm", at(20)),  # handed back to the bot
        (C1, Sender.customer, None, at(21)),  # the bot's again
        (C1, Sender.bot, "llm", at(21.1)),
        # Asked in words: the bot's handoff answer starts the wait; nobody came: no reply time.
        (C2, Sender.customer, None, at(30)),
        (C2, Sender.bot, handoff, at(30.1)),
    ]
    assert reply_waits(messages, since=T0) == [240.0, 60.0]
    # Only staff replies inside the window count.
    assert reply_waits(messages, since=at(7)) == [60.0]
    # Another conversation's wait never ends with this one's staff.
    assert reply_waits([(C1, Sender.system, handoff, at(0)), (C2, Sender.staff, None, at(3))], T0) == []


def test_typical_minutes_round_up_and_never_say_zero() -> None:
    def of(seconds: float | None) -> int | None:
        return ChatStats(0, seconds, 1, None, 0).typical_reply_minutes

    assert (of(None), of(5), of(60), of(61), of(600)) == (None, 1, 1, 2, 10)


async def _chat_with_waits(
    runtime: Runtime, org: LiveOrg, waits: list[float], ago: timedelta, rating: int
) -> uuid.UUID:
    """A live chat: handoff, then for each wait a staff reply that many minutes after the customer waited."""
    cid, token = await start(runtime, org)
    await customer_says(runtime, org, cid, token, "Hello there")
    service = live(runtime)
    async with session_scope(runtime.sessionmaker) as db:
        await service.handoff(db, org.public(), cid, token)
    for i, _ in enumerate(waits):
        if i:
            await customer_says(runtime, org, cid, token, "One more thing")
        async with session_scope(runtime.sessionmaker) as db:
            await service.reply(db, org.id, cid, org.staff, "On it")
    async with session_scope(runtime.sessionmaker) as db:
        await service.rate(db, org.public(), cid, token, RatingCreate(rating=rating))
        # Lay the messages out in time: the wait starts (handoff or customer), the staff reply ends it.
        rows = (
            await db.scalars(sa.select(Message).where(Message.conversation_id == cid).order_by(Message.seq))
        ).all()
        clock = utcnow() - ago - timedelta(hours=1)
        waiting = iter(waits)
        for m in rows:
            if m.sender == Sender.staff:
                clock += timedelta(minutes=next(waiting))
            else:
                clock += timedelta(seconds=1)
            m.created_at = clock
    return cid


async def test_stats_for_the_widget_and_for_a_secret_key(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org = await live_org(db)
    await _chat_with_waits(runtime, org, [4, 2], timedelta(0), rating=5)
    await _chat_with_waits(runtime, org, [9], timedelta(hours=2), rating=3)
    await _chat_with_waits(runtime, org, [60, 60], timedelta(days=8), rating=1)  # replies too old to count
    other = await live_org(db)
    await _chat_with_waits(runtime, other, [30], timedelta(0), rating=1)  # another organization's
    await live(runtime).staff_present(org.id, "anna:tab1")

    response = await client.get(STATS, headers=customer_headers(org))
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == ORIGIN
    stats = response.json()
    # Staff replies in the last 7 days: after 4, 2 and 9 minutes (the handoff's own system message and
    # the customer's follow-up start the waits; the 8-day-old chat's replies are out of the window).
    assert stats["replies_measured"] == 3
    assert abs(stats["median_reply_seconds"] - 240) < 5
    assert stats["typical_reply_minutes"] in (4, 5)
    assert stats["staff_online"] == 1
    assert (stats["average_rating"], stats["ratings"]) == (3.0, 3)

    secret = await client.get(STATS, headers=bearer(org.secret_key))
    assert secret.status_code == 200 and secret.json() == stats
    other_stats = (await client.get(STATS, headers=bearer(other.secret_key))).json()
    assert other_stats["replies_measured"] == 1 and other_stats["staff_online"] == 0


async def test_stats_are_kept_briefly_and_refused_without_the_widgets_credentials(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org = await live_org(db)
    first = (await client.get(STATS, headers=customer_headers(org))).json()
    assert first["staff_online"] == 0 and first["median_reply_seconds"] is None
    assert first["typical_reply_minutes"] is None and first["average_rating"] is None
    # Asked on every widget open: the figures are kept for a while, not recomputed per visitor.
    await live(runtime).staff_present(org.id, "anna:tab1")
    assert (await client.get(STATS, headers=customer_headers(org))).json()["staff_online"] == 0
    async with session_scope(runtime.sessionmaker) as session:
        fresh = await ChatStatsService(runtime)._compute(session, org.id)
    assert fresh.staff_online == 1

    wrong_origin = {"Authorization": f"Bearer {org.public_key}", "Origin": "https://evil.example"}
    refused = await client.get(STATS, headers=wrong_origin)
    assert refused.status_code == 403 and refused.json()["error"]["code"]
    assert "access-control-allow-origin" not in refused.headers
    missing = await client.get(STATS)
    assert missing.status_code == 401 and "error" in missing.json()
