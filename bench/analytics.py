"""Analytics summary latency on PostgreSQL with 1,000,000 messages over 90 days.

Seeds a throw-away database (COPY through asyncpg: a minute or two), then times the 90-day summary
(`AnalyticsService.summary`, the code behind GET /api/v1/analytics/summary) before and after the roll-up job,
and prints p50/p95. Run by hand, not in tests:

    PYTHONPATH=src:. .venv/bin/python bench/analytics.py [--messages 1000000] [--runs 30]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from answerdesk.analytics.repository import AnalyticsRepository
from answerdesk.analytics.service import AnalyticsService
from answerdesk.kit.db import create_engine, create_sessionmaker
from answerdesk.kit.migrate import upgrade_to_head
from answerdesk.tenants.service import OrganizationService

DB_NAME = "answerdesk_bench_analytics"
MODES = ["llm"] * 6 + ["faq"] * 2 + ["extractive", "no_answer", "handoff", "fallback"]
SENTIMENTS = ["neutral"] * 6 + ["positive"] * 2 + ["negative"] * 2


async def seed(admin_url: str, messages: int, per_conversation: int, days: int) -> tuple[str, uuid.UUID]:
    admin = await asyncpg.connect(admin_url)
    await admin.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}"')
    await admin.execute(f'CREATE DATABASE "{DB_NAME}"')
    await admin.close()
    base = admin_url.rsplit("/", 1)[0]
    url = f"{base}/{DB_NAME}".replace("postgresql://", "postgresql+asyncpg://", 1)
    await asyncio.to_thread(upgrade_to_head, url)
    engine = create_engine(url)
    async with create_sessionmaker(engine)() as db:
        org = await OrganizationService(db).create("Bench Hosting", "bench")
        await db.commit()
        org_id = org.id
    await engine.dispose()

    rnd = random.Random(42)
    now = datetime.now(UTC)
    conversations, rows = [], []
    for _ in range(messages // per_conversation):
        cid = uuid.uuid4()
        started = now - timedelta(seconds=rnd.uniform(0, days * 86400))
        handoff = rnd.random() < 0.15
        staff = handoff and rnd.random() < 0.7
        last = started
        for seq in range(1, per_conversation + 1):
            at = started + timedelta(seconds=seq * 30)
            last = at
            if seq % 2:
                sender, mode, sentiment = "customer", None, rnd.choice(SENTIMENTS)
            elif staff and seq > per_conversation // 2:
                sender, mode, sentiment = "staff", None, None
            else:
                sender, mode, sentiment = "bot", rnd.choice(MODES), None
            rows.append(
                (uuid.uuid4(), org_id, at, cid, seq, sender, f"{sender} message {seq}", "[]", "[]",
                 mode, sentiment, False, "{}")
            )  # fmt: skip
        rating = rnd.choice([None, None, None, 1, 2, 3, 4, 5, 5, 4])
        status = "closed" if rnd.random() < 0.3 else "bot"
        channel = "widget" if rnd.random() < 0.8 else "api"
        handoff_at = started + timedelta(seconds=60) if handoff else None
        conversations.append(
            (cid, org_id, started, channel, uuid.uuid4().hex, status, rating, handoff_at, per_conversation,
             False, last, last)
        )  # fmt: skip
    conn = await asyncpg.connect(f"{base}/{DB_NAME}")
    t0 = time.perf_counter()
    await conn.copy_records_to_table(
        "conversation",
        records=conversations,
        columns=["id", "organization_id", "created_at", "channel", "token_hash", "status", "rating",
                 "handoff_at", "message_count", "frustrated", "last_message_at", "updated_at"],
    )  # fmt: skip
    await conn.copy_records_to_table(
        "message",
        records=rows,
        columns=["id", "organization_id", "created_at", "conversation_id", "seq", "sender", "content",
                 "citations", "suggestions", "mode", "sentiment_label", "frustrated", "details"],
    )  # fmt: skip
    await conn.execute("ANALYZE")
    await conn.close()
    took = time.perf_counter() - t0
    print(f"seeded {len(conversations):,} conversations, {len(rows):,} messages in {took:.0f} s")
    return url, org_id


async def time_summary(url: str, org_id: uuid.UUID, runs: int, label: str) -> None:
    engine = create_engine(url)
    maker = create_sessionmaker(engine)
    timings = []
    for i in range(runs + 1):
        async with maker() as db:
            org = await OrganizationService(db).get(org_id)
            service = AnalyticsService(db)
            period = service.period(org, None, None)
            period = type(period).last_days(90, period.zone, today=period.end)
            t = time.perf_counter()
            summary = await service.summary(org, period)
            if i:  # the first run warms the connection pool and the statement caches
                timings.append((time.perf_counter() - t) * 1000)
    await engine.dispose()
    timings.sort()
    p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
    load = os.getloadavg()[0]
    print(
        f"{label}: {runs} runs (load average {load:.1f}), "
        f"p50 {statistics.median(timings):.0f} ms, p95 {p95:.0f} ms "
        f"({summary.conversations:,} conversations, {summary.customer_messages:,} customer messages)"
    )


async def roll_up(url: str) -> None:
    """What the analytics.roll_up job does (see analytics/tasks.py), without a runtime."""
    engine = create_engine(url)
    maker = create_sessionmaker(engine)
    t = time.perf_counter()
    cutoff = datetime.now(UTC) - timedelta(minutes=5)
    done, after = 0, None
    while True:
        async with maker() as db:
            repo = AnalyticsRepository(db)
            batch = await repo.changed_since(None, cutoff, after, 5000)
            done += await repo.roll_up([cid for _, cid in batch], cutoff)
            await db.commit()
        if len(batch) < 5000:
            break
        after = batch[-1]
    async with maker() as db:
        repo = AnalyticsRepository(db)
        await repo.settle(cutoff)
        await repo.set_rolled_through(cutoff)
        await db.commit()
    # What autovacuum does to a freshly filled table (hint bits, visibility map, statistics); without it the
    # first reads of every row pay for writing the hint bits.
    async with engine.connect() as c:
        autocommit = await c.execution_options(isolation_level="AUTOCOMMIT")
        for table in ("conversation_stat", "conversation_bucket"):
            await autocommit.exec_driver_sql(f"VACUUM ANALYZE {table}")
    await engine.dispose()
    print(f"roll-up of {done:,} conversations: {time.perf_counter() - t:.0f} s")


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--per-conversation", type=int, default=10)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    url, org_id = await seed(args.admin_url, args.messages, args.per_conversation, args.days)
    try:
        await time_summary(url, org_id, 3, "summary, nothing rolled up (counted from messages)")
        await roll_up(url)
        await time_summary(url, org_id, args.runs, "summary, rolled up")
    finally:
        if not args.keep:
            admin = await asyncpg.connect(args.admin_url)
            await admin.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
            await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
