"""What a chat message's database steps cost in CPU, one at a time (no concurrency, no HTTP).

The steps ChatService runs for every message, through the real repositories on a fresh migrated database:
reading the organization with its plan and index generation (the statements that commit by themselves),
counting the message (``ConversationRepository.count_message``), and the whole store of a customer message
(count, insert, commit, the message read back for the API), as the chat stores it (``store_counted_message``)
and through the ORM's unit of work (as ``append_message`` stores staff messages). Prints CPU and
wall time per step, the mean of ``--calls`` after a warm-up. CPU is this process's: SQLAlchemy, the driver
and our code; the database server's own work is not in it. Two steps are also timed as a burst runs them,
``BURST`` messages at once: the organization read, which concurrent messages share
(``Runtime.organization_reads``), and, with ``--redis-url``, the message's live events (``RedisEventBus``),
published one by one or, when they queue up, together. Run:
`PYTHONPATH=. .venv/bin/python bench/chat_statements.py [--database sqlite|postgres|both] [--calls 300]
[--redis-url redis://127.0.0.1:6379/7]`.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable

from bench.kb_fixture import DATABASES, BenchDatabase, bench_database, machine
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.billing.service import BillingService
from answerdesk.chat import announce
from answerdesk.chat.models import Channel, Conversation, Sender
from answerdesk.chat.repository import ConversationRepository, MessageRepository
from answerdesk.chat.schemas import ConversationCreate, MessageRead
from answerdesk.chat.service import ChatService, counted_message, store_counted_message
from answerdesk.config import Settings
from answerdesk.kit.db import autocommit_sessions, session_scope, utcnow
from answerdesk.kit.events import RedisEventBus
from answerdesk.runtime import OrganizationRead, Runtime
from answerdesk.tenants.service import OrganizationService

QUESTION = "How do I point my domain at your nameservers?"
BURST = 20


async def run(db: BenchDatabase, calls: int) -> None:
    settings = Settings(env="test", data_dir=db.data_dir, database_url=db.url, redis_url=None)
    runtime = Runtime.build(settings)
    try:
        async with session_scope(runtime.sessionmaker) as session:
            org_id = (await OrganizationService(session).create(f"Bench {uuid.uuid4().hex[:6]}")).id
        conversations: list[uuid.UUID] = []
        async with session_scope(runtime.sessionmaker) as session:
            for _ in range(calls):
                conversation, _ = await ChatService(runtime).start(
                    session, org_id, ConversationCreate(), Channel.api
                )
                conversations.append(conversation.id)

        async def organization() -> OrganizationRead:
            async with session_scope(autocommit_sessions(runtime.sessionmaker)) as session:
                org, plan = await BillingService(session, settings).organization_and_plan(org_id)
                return org, plan, await runtime.retriever.generation(session, org.id)

        async def read_organization(_: int) -> None:
            await organization()

        async def read_organization_in_burst(i: int) -> None:
            if i % BURST == 0:  # the step runs once per message: every BURST-th call sends BURST at once
                await asyncio.gather(
                    *(runtime.organization_reads.run(org_id, organization) for _ in range(BURST))
                )

        async def counted(session: AsyncSession, i: int) -> Conversation | None:
            return await ConversationRepository(session).count_message(
                org_id,
                conversations[i],
                at=utcnow(),
                open_only=True,
                language="en",
                sentiment=("neutral", False),
            )

        async def count(i: int) -> None:
            async with session_scope(runtime.sessionmaker) as session:
                await counted(session, i)

        async def store(i: int) -> None:
            async with session_scope(runtime.sessionmaker) as session:
                conversation = await counted(session, i)
                assert conversation is not None
                message = await store_counted_message(
                    session, conversation, Sender.customer, QUESTION, events=runtime.events
                )
                MessageRead.model_validate(message)

        async def store_through_orm(i: int) -> None:
            async with session_scope(runtime.sessionmaker) as session:
                conversation = await counted(session, i)
                assert conversation is not None
                message = MessageRepository(session).add(
                    counted_message(conversation, Sender.customer, QUESTION)
                )
                announce.message_added(session, runtime.events, conversation, message)
                await session.flush()
                MessageRead.model_validate(message)

        steps: list[tuple[str, Callable[[int], Awaitable[None]]]] = [
            ("organization, plan and generation", read_organization),
            (f"  the same, {BURST} at once (shared)", read_organization_in_burst),
            ("count the message", count),
            ("store a customer message", store),
            ("  the same through the ORM", store_through_orm),
        ]
        print(f"\n{db.kind}: {calls} calls per step after {min(50, calls)} to warm up, {BURST} at a turn")
        for _, step in steps:
            for i in range(min(50, calls)):
                await step(i)
        # The steps take turns, BURST calls at a time: on a shared machine whose speed drifts, each then
        # sees the same drift, and their differences hold where one step after another's would not.
        cpu = dict.fromkeys(range(len(steps)), 0.0)
        wall = dict.fromkeys(range(len(steps)), 0.0)
        for start in range(0, calls, BURST):
            for n, (_, step) in enumerate(steps):
                began, began_wall = time.process_time(), time.perf_counter()
                for i in range(start, min(start + BURST, calls)):
                    await step(i)
                cpu[n] += time.process_time() - began
                wall[n] += time.perf_counter() - began_wall
        for n, (name, _) in enumerate(steps):
            print(f"  {name:36s} CPU {cpu[n] / calls * 1000:6.3f} ms   wall {wall[n] / calls * 1000:6.3f} ms")
    finally:
        await runtime.close()


async def run_events(redis_url: str, calls: int) -> None:
    """A customer message's two live events (its conversation's channel and the staff channel), ``calls``
    times: sent one message at a time (each PUBLISH alone), then ``BURST`` messages' events queued at once."""
    publisher, listener = Redis.from_url(redis_url), Redis.from_url(redis_url)
    bus, subscriber = RedisEventBus(publisher), RedisEventBus(listener)
    event = {"type": "message", "message": {"id": str(uuid.uuid4()), "seq": 1, "content": QUESTION}}
    customer, staff = f"bench:{uuid.uuid4().hex}", f"bench:{uuid.uuid4().hex}"
    try:
        async with subscriber.subscribe(customer) as to_customer, subscriber.subscribe(staff) as to_staff:

            async def delivered(count: int) -> None:
                for _ in range(count):
                    await anext(to_customer)
                    await anext(to_staff)

            print(f"\nlive events through Redis: {calls} messages, 2 events each (publisher + listener CPU)")
            for label, together in (("one message at a time", 1), (f"{BURST} messages at once", BURST)):
                cpu, wall = time.process_time(), time.perf_counter()
                for _ in range(0, calls, together):
                    for _ in range(together):
                        bus.publish_nowait(customer, event)
                        bus.publish_nowait(staff, event)
                    await delivered(together)
                cpu_ms = (time.process_time() - cpu) / calls * 1000
                wall_ms = (time.perf_counter() - wall) / calls * 1000
                print(f"  {label:36s} CPU {cpu_ms:6.3f} ms   wall {wall_ms:6.3f} ms  per message")
    finally:
        await bus.close()
        await subscriber.close()
        await publisher.aclose()
        await listener.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=[*DATABASES, "both"], default="both")
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--redis-url", help="also time the live events through this Redis")
    args = parser.parse_args()
    print(machine())
    for kind in DATABASES if args.database == "both" else (args.database,):
        with bench_database(kind) as db:
            asyncio.run(run(db, args.calls))
    if args.redis_url:
        asyncio.run(run_events(args.redis_url, args.calls))


if __name__ == "__main__":
    main()
