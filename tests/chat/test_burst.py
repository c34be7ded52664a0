"""More chat messages at once than the database pool has connections, with API keys not yet cached: every
request reads its key first and keeps that connection, so none may wait for a second one (they would hold the
whole pool and wait for each other until the pool's timeout: HTTP 500s after 30 s)."""

from __future__ import annotations

import asyncio
import time

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.runtime import Runtime
from tests.chat.support import Chat, seed_demo_subset
from tests.factories import bearer, make_key, make_org

QUESTION = "How do I point my domain to your nameservers?"


async def dns_help_chat(client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime) -> Chat:
    """A new organization whose knowledge base answers QUESTION, seen through its secret key."""
    org = await make_org(db)
    key = await make_key(db, org)
    await seed_demo_subset(runtime, org.id, ("dns.md",))
    return Chat(client, bearer(key), runtime, org.id)


async def test_a_burst_larger_than_the_pool_is_answered(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    chat = await dns_help_chat(client, db, runtime)
    pool = runtime.engine.sync_engine.pool
    burst = pool.size() + getattr(pool, "_max_overflow", 0) + 10  # type: ignore[attr-defined]
    conversations = [(await chat.start())[0] for _ in range(burst)]
    runtime.api_keys.forget(organization_id=chat.organization_id)  # every request of the burst reads its key

    started = time.monotonic()
    responses = await asyncio.gather(*(chat.send(c, QUESTION) for c in conversations))

    assert [r.status_code for r in responses] == [200] * burst, [r.text[:200] for r in responses][:3]
    assert all(r.json()["message"]["mode"] in ("faq", "extractive") for r in responses)
    assert time.monotonic() - started < 25  # the pool's timeout is 30 s


async def test_a_burst_reads_its_organization_a_few_times_not_once_per_message(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    """Messages of one organization that read it at the same time share the read (its keys are cached)."""
    chat = await dns_help_chat(client, db, runtime)
    conversations = [(await chat.start())[0] for _ in range(20)]
    reads: list[str] = []

    def count_reads(conn: object, cursor: object, statement: str, *args: object) -> None:
        if "organization_plan_id" in statement:  # the organization-with-plan read (billing/repository.py)
            reads.append(statement)

    sa.event.listen(runtime.engine.sync_engine, "before_cursor_execute", count_reads)
    try:
        responses = await asyncio.gather(*(chat.send(c, QUESTION) for c in conversations))
    finally:
        sa.event.remove(runtime.engine.sync_engine, "before_cursor_execute", count_reads)

    assert [r.status_code for r in responses] == [200] * 20
    assert 1 <= len(reads) < 20, len(reads)  # 1 here: all 20 asked while the first read ran
