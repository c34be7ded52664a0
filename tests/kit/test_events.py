"""Event bus: fan-out in one process, Redis pub/sub between two buses (as between two processes), order,
slow subscribers cut off, and events published only when the database transaction commits."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.kit.events import EventBus, InProcessEventBus, RedisEventBus, publish_after_commit
from answerdesk.runtime import Runtime
from tests.chat.live_support import collecting
from tests.conftest import REDIS_TEST_URL


@pytest.fixture
async def redis_pair() -> AsyncIterator[tuple[RedisEventBus, RedisEventBus, Redis]]:
    """Two buses with their own connections, like two server processes."""
    a, b = Redis.from_url(REDIS_TEST_URL), Redis.from_url(REDIS_TEST_URL)
    bus_a, bus_b = RedisEventBus(a), RedisEventBus(b)
    try:
        yield bus_a, bus_b, a
    finally:
        await bus_a.close()
        await bus_b.close()
        await a.aclose()
        await b.aclose()


def channel() -> str:
    return f"test:{uuid.uuid4().hex}"


async def test_in_process_fan_out_to_every_subscriber_of_the_channel() -> None:
    bus = InProcessEventBus()
    name = channel()
    async with (
        collecting(bus, name) as one,
        collecting(bus, name) as two,
        collecting(bus, channel()) as other,
    ):
        await bus.publish(name, {"n": 1})
        await one.wait_for(lambda e: len(e) == 1)
        await two.wait_for(lambda e: len(e) == 1)
    assert one.events == two.events == [{"n": 1}]
    assert other.events == []
    await bus.close()


async def test_a_subscriber_that_falls_behind_is_ended_not_buffered_forever() -> None:
    bus = InProcessEventBus()
    name = channel()
    async with bus.subscribe(name) as events:
        for n in range(2000):
            bus.publish_nowait(name, {"n": n})
        received = [e async for e in events]  # ends instead of blocking: the subscriber was cut off
    assert 0 < len(received) < 2000


async def test_redis_delivers_between_buses_in_order(
    redis_pair: tuple[RedisEventBus, RedisEventBus, Redis],
) -> None:
    publisher, subscriber, _ = redis_pair
    name = channel()
    async with collecting(subscriber, name) as got:
        # No wait between subscribing and publishing: subscribe returns only once Redis confirmed it.
        for n in range(200):
            await publisher.publish(name, {"n": n, "text": "héllo"})
        await got.wait_for(lambda e: len(e) == 200)
    assert [e["n"] for e in got.events] == list(range(200))
    assert got.events[0]["text"] == "héllo"


async def test_redis_keeps_each_channels_order_when_events_go_together(
    redis_pair: tuple[RedisEventBus, RedisEventBus, Redis],
) -> None:
    """Events queued at once reach Redis in one round trip (PUBLISH_BATCH), still in publishing order."""
    publisher, subscriber, _ = redis_pair
    customer, staff = channel(), channel()
    async with collecting(subscriber, customer) as one, collecting(subscriber, staff) as other:
        for n in range(300):  # no await between them: all queued before the publisher runs
            publisher.publish_nowait(customer if n % 3 else staff, {"n": n})
        await one.wait_for(lambda e: len(e) == 200)
        await other.wait_for(lambda e: len(e) == 100)
    assert [e["n"] for e in one.events] == [n for n in range(300) if n % 3]
    assert [e["n"] for e in other.events] == [n for n in range(300) if not n % 3]


async def test_redis_shares_one_subscription_per_channel_and_drops_it_after_the_last(
    redis_pair: tuple[RedisEventBus, RedisEventBus, Redis],
) -> None:
    publisher, subscriber, redis = redis_pair
    name = channel()
    full = "answerdesk:events:" + name

    async def subscribers() -> int:
        counts = await redis.pubsub_numsub(full)
        return int(counts[0][1])

    async with collecting(subscriber, name) as one, collecting(subscriber, name) as two:
        assert await subscribers() == 1
        await publisher.publish(name, {"hello": True})
        await one.wait_for(lambda e: len(e) == 1)
        await two.wait_for(lambda e: len(e) == 1)
    for _ in range(200):
        if await subscribers() == 0:
            break
        await asyncio.sleep(0.01)
    assert await subscribers() == 0


@pytest.mark.parametrize("kind", ["memory", "redis"])
async def test_publish_after_commit_only(kind: str, db: AsyncSession, runtime: Runtime) -> None:
    redis = Redis.from_url(REDIS_TEST_URL) if kind == "redis" else None
    bus: EventBus = RedisEventBus(redis) if redis else InProcessEventBus()
    name = channel()
    try:
        async with collecting(bus, name) as got:
            async with runtime.sessionmaker() as session:
                publish_after_commit(session, bus, name, {"n": "rolled back"})
                await session.rollback()
                async with session.begin():
                    async with session.begin_nested() as savepoint:
                        publish_after_commit(session, bus, name, {"n": "savepoint rolled back"})
                        await savepoint.rollback()
                    publish_after_commit(session, bus, name, lambda: {"n": "committed"})
                    assert got.events == []  # not before the commit
            await got.wait_for(lambda e: len(e) == 1)
        assert got.events == [{"n": "committed"}]
    finally:
        await bus.close()
        if redis is not None:
            await redis.aclose()
