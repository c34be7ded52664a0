"""With REDIS_URL set, login sessions and throttling live in Redis and are shared across app instances."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.sessions import RedisSessionStore
from answerdesk.main import create_app
from tests.conftest import REDIS_TEST_URL, make_settings
from tests.factories import PASSWORD, logged_in, login, make_member, make_org


@pytest.fixture
async def redis_apps(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[FastAPI, FastAPI]]:
    r = Redis.from_url(REDIS_TEST_URL)
    await r.flushdb()
    await r.aclose()
    apps = [
        create_app(make_settings(database_url, tmp_path / f"d{i}", redis_url=REDIS_TEST_URL))
        for i in range(2)
    ]
    async with apps[0].router.lifespan_context(apps[0]), apps[1].router.lifespan_context(apps[1]):
        yield apps[0], apps[1]


def _client(app: FastAPI, ip: str = "203.0.113.50") -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(ip, 1)), base_url="http://testserver"
    )


async def test_session_in_redis_is_seen_by_another_process(redis_apps: tuple[FastAPI, FastAPI]) -> None:
    one, two = redis_apps
    assert isinstance(one.state.runtime.session_store, RedisSessionStore)
    async with one.state.runtime.sessionmaker() as db:
        db: AsyncSession
        org = await make_org(db)
        await make_member(db, org, email="redis@example.com")
    c1 = _client(one)
    s = await logged_in(c1, "redis@example.com")
    c2 = _client(two)
    c2.cookies = c1.cookies
    assert (await c2.get("/admin")).status_code == 200
    assert (await c2.post("/logout", data={"csrf_token": s.csrf})).status_code == 303
    assert (await c1.get("/admin", follow_redirects=False)).status_code == 303


async def test_throttling_counts_across_processes(redis_apps: tuple[FastAPI, FastAPI]) -> None:
    one, two = redis_apps
    async with one.state.runtime.sessionmaker() as db:
        org = await make_org(db)
        await make_member(db, org, email="throttle@example.com")
    for i in range(5):
        app = one if i % 2 else two
        assert (await login(_client(app), "throttle@example.com", "bad-password-x")).status_code == 401
    assert (await login(_client(one, "198.51.100.1"), "throttle@example.com", PASSWORD)).status_code == 429
