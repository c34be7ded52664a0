"""What a chat message's database steps cost in CPU, one at a time (no concurrency, no HTTP).

The steps ChatService runs for every message, through the real repositories on a fresh migrated database:
reading the organization with its plan and index generation (the statements that commit by themselves),
counting the message (``ConversationRepository.count_message``), and the whole store of a customer message
(count, insert, commit, the message read back for the API). Prints CPU and wall time per step, the mean of
``--calls`` after a warm-up. CPU is this process's: SQLAlchemy, the driver and our code; the database
server's own work is not in it. Run:
`PYTHONPATH=. .venv/bin/python bench/chat_statements.py [--database sqlite|postgres|both] [--calls 300]`.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable

from bench.kb_fixture import DATABASES, BenchDatabase, bench_database, machine
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.billing.service import BillingService
from answerdesk.chat.models import Channel, Conversation, Sender
from answerdesk.chat.repository import ConversationRepository
from answerdesk.chat.schemas import ConversationCreate, MessageRead
from answerdesk.chat.service import ChatService, add_counted_message
from answerdesk.config import Settings
from answerdesk.kit.db import autocommit_sessions, session_scope, utcnow
from answerdesk.runtime import Runtime
from answerdesk.tenants.service import OrganizationService

QUESTION = "How do I point my domain at your nameservers?"


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

        async def read_organization(_: int) -> None:
            async with session_scope(autocommit_sessions(runtime.sessionmaker)) as session:
                org, _plan = await BillingService(session, settings).organization_and_plan(org_id)
                await runtime.retriever.generation(session, org.id)

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
                message = add_counted_message(session, conversation, Sender.customer, QUESTION)
                await session.flush()
                MessageRead.model_validate(message)

        steps: list[tuple[str, Callable[[int], Awaitable[None]]]] = [
            ("organization, plan and generation", read_organization),
            ("count the message", count),
            ("store a customer message", store),
        ]
        print(f"\n{db.kind}: {calls} calls per step, after {min(50, calls)} to warm up")
        for name, step in steps:
            for i in range(min(50, calls)):
                await step(i)
            cpu, wall = time.process_time(), time.perf_counter()
            for i in range(calls):
                await step(i)
            cpu_ms = (time.process_time() - cpu) / calls * 1000
            wall_ms = (time.perf_counter() - wall) / calls * 1000
            print(f"  {name:36s} CPU {cpu_ms:6.3f} ms   wall {wall_ms:6.3f} ms")
    finally:
        await runtime.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=[*DATABASES, "both"], default="both")
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    print(machine())
    for kind in DATABASES if args.database == "both" else (args.database,):
        with bench_database(kind) as db:
            asyncio.run(run(db, args.calls))


if __name__ == "__main__":
    main()
