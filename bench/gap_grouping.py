"""How long the knowledge-gap report takes for a few thousand gap questions, and how well it groups them.

Builds N refused customer questions (one per conversation, as the chat service stores them, each with its
MiniLM query vector) from topics x wordings, then times GapService.report end to end (two SQL reads, the
clustering, the FAQ links) and the clustering alone. Quality: how many groups are pure (one topic) and
how many topics end in one group (their wordings found together). Run:
`PYTHONPATH=src:. .venv/bin/python bench/gap_grouping.py [--database sqlite|postgres|both]
[--sizes 1000 2000 4000] [--model-cache DIR]`.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import uuid
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path

import numpy as np
from bench.kb_fixture import (
    BENCH_SECRET,
    DATABASES,
    DEFAULT_MODEL_CACHE,
    BenchDatabase,
    bench_database,
    machine,
)
from pydantic import SecretStr

from answerdesk.chat.models import AnswerMode, Channel, Conversation, Message, Sender
from answerdesk.chat.service import vector_bytes
from answerdesk.config import Settings
from answerdesk.gaps.cluster import cluster
from answerdesk.gaps.service import GapService
from answerdesk.kit.db import session_scope, utcnow
from answerdesk.runtime import Runtime
from answerdesk.tenants.service import OrganizationService

# Things a hosting company's bot might not know, each asked several ways.
TOPICS = {
    "windows": ["Do you offer Windows VPS?", "Is Windows hosting available?", "Can I get a Windows server?"],
    "paypal": ["Can I pay with PayPal?", "Do you accept PayPal payments?", "Is PayPal possible at checkout?"],
    "students": ["Is there a student discount?", "Any discounts for students?", "Do students pay less?"],
    "bitcoin": ["Can I pay in bitcoin?", "Do you take crypto payments?", "Is bitcoin accepted?"],
    "datacenter": ["Where is your data centre?", "Which country are your servers in?", "Server location?"],
    "uptime": ["What uptime do you guarantee?", "Is there an SLA for uptime?", "Uptime guarantee?"],
    "nodejs": ["Can I run Node.js apps?", "Do you support Node.js hosting?", "Node on shared plans?"],
    "refund": ["Can I get my money back?", "What is your refund policy?", "Do you offer refunds?"],
    "phone": ["Do you have phone support?", "Can I call you?", "What is your support phone number?"],
    "gpu": ["Do you rent GPU servers?", "Are GPU instances available?", "Can I get a server with a GPU?"],
    "ipv6": ["Do you support IPv6?", "Is IPv6 available on VPS?", "Can I get an IPv6 address?"],
    "reseller": ["Do you have a reseller programme?", "Can I resell your hosting?", "White-label hosting?"],
}  # fmt: skip
SUFFIXES = ["", " please", " thanks", "?", " for my shop", " for my company"]


async def seed(runtime: Runtime, n: int, rng: random.Random) -> tuple[object, dict[str, str]]:
    embedder = await runtime.embedder()
    texts, topics = [], []
    for _ in range(n):
        topic = rng.choice(sorted(TOPICS))
        texts.append(rng.choice(TOPICS[topic]).rstrip("?") + rng.choice(SUFFIXES))
        topics.append(topic)
    vectors = embedder.embed(texts)
    now = utcnow()
    truth: dict[str, str] = {}
    async with session_scope(runtime.sessionmaker) as db:
        org = await OrganizationService(db).create(f"Gaps bench {n}")
        for i, (text, topic) in enumerate(zip(texts, topics, strict=True)):
            at = now - timedelta(minutes=n - i)
            conversation = Conversation(
                id=uuid.uuid4(),
                organization_id=org.id, channel=Channel.widget, token_hash="x" * 64, status="bot",
                message_count=2, last_message_at=at, handoff_at=at,
            )  # fmt: skip
            db.add(conversation)
            question = Message(
                id=uuid.uuid4(),
                organization_id=org.id, conversation_id=conversation.id, seq=1, sender=Sender.customer,
                content=text, created_at=at, query_embedding=vector_bytes(vectors[i]),
            )  # fmt: skip
            db.add(question)
            db.add(
                Message(
                    organization_id=org.id, conversation_id=conversation.id, seq=2, sender=Sender.bot,
                    content="I could not find that.", mode=AnswerMode.no_answer, citations=[], created_at=at,
                )
            )  # fmt: skip
            truth[str(question.id)] = topic
        org_id = org.id
    return org_id, truth


async def run(database: BenchDatabase, sizes: list[int], model_cache: Path) -> None:
    rng = random.Random(7)
    kind = database.kind
    settings = Settings(
        env="test", data_dir=database.data_dir, database_url=database.url,
        secret_key=SecretStr(BENCH_SECRET), redis_url=None, model_cache_dir=model_cache,
    )  # fmt: skip
    runtime = Runtime.build(settings)
    try:
        for n in sizes:
            org_id, truth = await seed(runtime, n, rng)
            timings = []
            for _ in range(3):
                async with session_scope(runtime.sessionmaker) as db:
                    started = time.perf_counter()
                    report = await GapService(runtime).report(db, org_id, days=30)  # type: ignore[arg-type]
                    timings.append((time.perf_counter() - started) * 1000)
            cluster_only = report.cluster_ms
            pure = sum(1 for g in report.groups if len({truth[str(q.message_id)] for q in g.questions}) == 1)
            homes: dict[str, Counter[int]] = defaultdict(Counter)
            for i, g in enumerate(report.groups):
                for q in g.questions:
                    homes[truth[str(q.message_id)]][i] += 1
            whole = sum(1 for c in homes.values() if len(c) == 1)
            largest = sum(c.most_common(1)[0][1] for c in homes.values()) / n
            groups = len(report.groups)
            print(
                f"{kind:8} n={n:5}: report {min(timings):7.0f} ms (best of 3; clustering "
                f"{cluster_only:6.0f} ms) · {groups} groups for {len(TOPICS)} topics · {pure}/{groups} pure"
                f" · {whole}/{len(TOPICS)} topics in one group · {largest:.1%} of questions in their "
                "topic's main group"
            )
    finally:
        await runtime.close()


def cluster_alone(sizes: list[int]) -> None:
    rng = np.random.default_rng(0)
    for n in sizes:
        centres = rng.standard_normal((max(1, n // 5), 384)).astype(np.float32)
        x = centres[rng.integers(0, len(centres), n)] + 0.05 * rng.standard_normal((n, 384)).astype(
            np.float32
        )
        started = time.perf_counter()
        cluster(x / np.linalg.norm(x, axis=1, keepdims=True))
        ms = (time.perf_counter() - started) * 1000
        print(f"cluster() alone, n={n:5}, {n // 5} synthetic centres: {ms:6.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=[*DATABASES, "both"], default="sqlite")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000, 4000])
    parser.add_argument("--model-cache", type=Path, default=DEFAULT_MODEL_CACHE)
    args = parser.parse_args()
    print(machine())
    cluster_alone(args.sizes)
    for kind in DATABASES if args.database == "both" else [args.database]:
        with bench_database(kind) as database:  # migrates with its own event loop: not inside run()
            asyncio.run(run(database, args.sizes, args.model_cache))


if __name__ == "__main__":
    main()
