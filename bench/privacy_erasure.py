"""How long a customer's erasure and an organization's deletion take as the organization grows.

Seeds one organization with ``--conversations`` conversations of ``--messages`` messages each (bulk
inserts, ~25-word texts; each bot message carries a small retrieval trace in ``details``), plus one
customer with 3 conversations of 6 messages, then times, on a fresh SQLite or PostgreSQL database:

* the erasure of that customer (find, delete, then the sweep of every text and JSON column of the
  organization's rows for their address and sentences: the part that grows with the organization);
* the deletion of the whole organization (every table found through the metadata).

Run: `PYTHONPATH=.:src .venv/bin/python bench/privacy_erasure.py [--conversations 2000 --messages 10]`.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import uuid

import sqlalchemy as sa
from bench.kb_fixture import DATABASES, BenchDatabase, bench_database, machine
from bench.search_latency import WORDS

from answerdesk.chat.models import Conversation, Message
from answerdesk.config import Settings
from answerdesk.kit.db import session_scope, utcnow
from answerdesk.privacy.service import Actor, CustomerPrivacyService, OrganizationDeletionService
from answerdesk.runtime import Runtime
from answerdesk.tenants.models import Organization

EMAIL = "erase.me@example.org"


def sentence(pick: random.Random) -> str:
    return " ".join(pick.choice(WORDS) for _ in range(25)).capitalize() + "."


async def seed(runtime: Runtime, conversations: int, messages: int) -> uuid.UUID:
    pick = random.Random(7)
    org_id = uuid.uuid4()
    now = utcnow()
    async with session_scope(runtime.sessionmaker) as db:
        db.add(Organization(id=org_id, name="Bench privacy", slug="bench-privacy", settings={}))
    for start in range(0, conversations + 3, 500):
        conv_rows, msg_rows = [], []
        for n in range(start, min(start + 500, conversations + 3)):
            cid = uuid.uuid4()
            email = EMAIL if n >= conversations else f"c{n}@example.net"
            count = 6 if n >= conversations else messages
            conv_rows.append(
                {
                    "id": cid,
                    "organization_id": org_id,
                    "channel": "widget",
                    "token_hash": "x" * 64,
                    "customer_email": email,
                    "status": "bot",
                    "message_count": count,
                    "created_at": now,
                    "last_message_at": now,
                    "updated_at": now,
                    "customer_seen_seq": 0,
                    "staff_seen_seq": 0,
                    "frustrated": False,
                }
            )
            for seq in range(1, count + 1):
                text = sentence(pick)
                bot = seq % 2 == 0
                msg_rows.append(
                    {
                        "id": uuid.uuid4(),
                        "organization_id": org_id,
                        "conversation_id": cid,
                        "seq": seq,
                        "sender": "bot" if bot else "customer",
                        "content": text,
                        "citations": [],
                        "suggestions": [],
                        "frustrated": False,
                        "created_at": now,
                        "details": {"query": text[:80], "passages": [{"chunk_id": seq, "score": 0.5}]}
                        if bot
                        else {},
                    }
                )
        async with session_scope(runtime.sessionmaker) as db:
            await db.execute(sa.insert(Conversation), conv_rows)
            await db.execute(sa.insert(Message), msg_rows)
    return org_id


async def run(database: BenchDatabase, conversations: int, messages: int) -> None:
    kind = database.kind
    settings = Settings(
        env="test", data_dir=database.data_dir, database_url=database.url, secret_key="b" * 48
    )
    runtime = Runtime.build(settings)
    await runtime.jobs.start()
    try:
        org_id = await seed(runtime, conversations, messages)
        total = conversations * messages + 18
        started = time.perf_counter()
        async with session_scope(runtime.sessionmaker) as db:
            result = await CustomerPrivacyService(db, runtime).erase(org_id, EMAIL, Actor(user_id=None))
        erase_s = time.perf_counter() - started
        started = time.perf_counter()
        async with session_scope(runtime.sessionmaker) as db:
            service = OrganizationDeletionService(db, runtime)
            deleted = await service.delete_rows(org_id, "Bench privacy", Actor(user_id=None))
        await service.purge(deleted)
        delete_s = time.perf_counter() - started
        print(
            f"{kind:8} {conversations:>6} conversations, {total:>7} messages: erase one customer "
            f"({result.messages} messages) {erase_s * 1000:7.0f} ms; "
            f"delete the organization {delete_s * 1000:7.0f} ms"
        )
    finally:
        await runtime.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--conversations", type=int, default=2000)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--database", choices=[*DATABASES, "both"], default="both")
    args = parser.parse_args()
    print(machine())
    kinds = DATABASES if args.database == "both" else (args.database,)
    for kind in kinds:
        with bench_database(kind) as database:
            asyncio.run(run(database, args.conversations, args.messages))


if __name__ == "__main__":
    main()
