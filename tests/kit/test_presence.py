"""Presence: members seen within a time-to-live, counted in this process or across processes in Redis."""

from __future__ import annotations

import uuid

from redis.asyncio import Redis

from answerdesk.kit.presence import Presence
from tests.conftest import REDIS_TEST_URL


async def test_members_in_memory_expire() -> None:
    presence = Presence()
    await presence.touch("g", "anna", 60)
    await presence.touch("g", "anna:tab2", 60)
    await presence.touch("g", "ben", -1)  # already expired
    assert await presence.members("g") == {"anna", "anna:tab2"}
    assert await presence.count("g") == 2
    await presence.leave("g", "anna:tab2")
    assert await presence.members("g") == {"anna"} and await presence.members("other") == set()


async def test_members_are_shared_through_redis() -> None:
    group = f"test:{uuid.uuid4().hex}"
    a, b = Redis.from_url(REDIS_TEST_URL), Redis.from_url(REDIS_TEST_URL)
    try:
        one, two = Presence(a), Presence(b)
        await one.touch(group, "anna", 60)
        await two.touch(group, "ben:1", 60)
        assert await one.members(group) == await two.members(group) == {"anna", "ben:1"}
    finally:
        await a.delete("answerdesk:presence:" + group)
        await a.aclose()
        await b.aclose()
