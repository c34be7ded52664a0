"""What one chat message costs in our code, the LLM left out: p50/p95/p99 at 10k and 100k chunks.

Target: overhead p95 < 50 ms at 100k chunks. Each message goes through POST
/api/v1/conversations/{id}/messages (JSON reply) of an `answerdesk serve` subprocess whose LLM is the
loopback fake (tests/fakes/openai_server.py, in this process) answering at once with a one-token reply.
So a request covers: accept (validation, sentiment, locking the conversation, storing the customer's
message), standalone query, query embedding, retrieval, FAQ check, prompt building, the LLM call,
citations and follow-up suggestions, and storing the bot message.

The LLM's own share is taken from the fake's timestamps (request received to last byte sent) and
subtracted: overhead = request latency - LLM time. The LLM call as our client sees it (connection and
SDK included) is the stored `details.first_token_ms` and is shown too; with a one-token reply it is the
whole call. Synthetic chunks have random embeddings, so the bench sets the organization's relevance
threshold to 0 (via PUT /api/v1/ai-settings): otherwise every question would end as "no answer" before
the LLM step. Every 30 s an untimed GET refreshes the API key's last_used_at, working around the SQLite
lock-up described in bench/kb_fixture.py (KEY_REFRESH_SECONDS).

Messages are sequential, five per conversation (so the history is loaded), after a warm-up that builds
the index and loads the models. Run:
`PYTHONPATH=. .venv/bin/python bench/answer_overhead.py [--database sqlite|postgres|both]
[--sizes 10000 100000] [--messages 200] [--model-cache DIR]`.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from bench.kb_fixture import (
    DATABASES,
    DEFAULT_MODEL_CACHE,
    KEY_REFRESH_SECONDS,
    Percentiles,
    bench_database,
    machine,
    refresh_key,
    seed_synthetic,
    serve,
    server_errors,
)
from bench.search_latency import QUERIES
from tests.fakes.openai_server import FakeOpenAIServer, RecordedRequest

from answerdesk.chat.models import Message
from answerdesk.kit.db import create_engine, create_sessionmaker

ONE_TOKEN_REPLY = "Done[1]."  # one token for the fake's splitter; cites passage 1 like a real answer
MESSAGES_PER_CONVERSATION = 5
WARMUP_MESSAGES = 20
TARGET_P95_MS = 50.0


@dataclass
class Sample:
    message_id: uuid.UUID
    total_ms: float  # the HTTP request as the client saw it
    llm_ms: float  # the fake's time on the LLM calls made during this request
    llm_calls: int
    mode: str
    pipeline_ms: float = 0.0  # stored latency_ms: pipeline start to finish (no accept, no persist)
    retrieval_ms: float = 0.0
    first_token_ms: float = 0.0  # the LLM call as our client saw it


@dataclass
class Run:
    database: str
    size: int
    seed_s: float
    warmup_s: float
    samples: list[Sample] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    server_errors: Counter[str] = field(default_factory=Counter)


def llm_time(requests: list[RecordedRequest], since: float, until: float) -> tuple[float, int]:
    """The fake's own time on the requests it received in [since, until] (same monotonic clock)."""
    calls = [r for r in requests if since <= r.received_at <= until]
    return sum(((r.finished_at or until) - r.received_at) * 1000 for r in calls), len(calls)


async def stored_timings(url: str, samples: list[Sample]) -> None:
    """Fill the in-process breakdown from the stored bot messages (details holds retrieval_ms)."""
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            rows = (
                await session.execute(
                    sa.select(Message.id, Message.latency_ms, Message.details).where(
                        Message.id.in_([s.message_id for s in samples])
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    by_id = {row.id: row for row in rows}
    for s in samples:
        row = by_id[s.message_id]
        details: dict[str, Any] = row.details or {}
        s.pipeline_ms = float(row.latency_ms or 0)
        s.retrieval_ms = float(details.get("retrieval_ms") or 0)
        s.first_token_ms = float(details.get("first_token_ms") or 0)


def measure(kind: str, size: int, messages: int, model_cache: Path) -> Run:
    with (
        FakeOpenAIServer(reply=ONE_TOKEN_REPLY, ttft=0.0) as fake,
        bench_database(kind) as db,
    ):
        started = time.perf_counter()
        _, key = asyncio.run(seed_synthetic(db.url, size))
        run = Run(kind, size, time.perf_counter() - started, 0.0)
        llm_env = {
            "ANSWERDESK_LLM_BASE_URL": fake.base_url,
            "ANSWERDESK_LLM_API_KEY": "bench",
            "ANSWERDESK_LLM_MODEL": "bench-model",
        }
        with (
            serve(db, model_cache, llm_env) as base,
            httpx.Client(base_url=base, timeout=300, headers={"Authorization": f"Bearer {key}"}) as client,
        ):
            client.put("/api/v1/ai-settings", json={"relevance_threshold": 0.0}).raise_for_status()
            refreshed = time.monotonic()
            conversation = uuid.uuid4()
            t0 = time.perf_counter()
            for i in range(WARMUP_MESSAGES + messages):
                if i % MESSAGES_PER_CONVERSATION == 0:
                    created = client.post("/api/v1/conversations", json={})
                    created.raise_for_status()
                    conversation = uuid.UUID(created.json()["id"])
                if time.monotonic() - refreshed > KEY_REFRESH_SECONDS:
                    refresh_key(client)
                    refreshed = time.monotonic()
                question = QUERIES[i % len(QUERIES)]
                since = time.monotonic()
                t = time.perf_counter()
                response = client.post(
                    f"/api/v1/conversations/{conversation}/messages", json={"content": question}
                )
                total_ms = (time.perf_counter() - t) * 1000
                if i < WARMUP_MESSAGES:
                    run.warmup_s = time.perf_counter() - t0
                if response.status_code != 200:
                    # Counted and shown, not fatal: a failure is a finding, and the rest still measure.
                    run.failures.append(
                        f"message {i} ({'warm-up' if i < WARMUP_MESSAGES else 'measured'}): "
                        f"HTTP {response.status_code} after {total_ms:.0f} ms: {response.text[:120]}"
                    )
                    continue
                if i < WARMUP_MESSAGES:
                    continue
                reply = response.json()
                llm_ms, calls = llm_time(fake.requests, since, time.monotonic())
                run.samples.append(
                    Sample(
                        message_id=uuid.UUID(reply["message"]["id"]),
                        total_ms=total_ms,
                        llm_ms=llm_ms,
                        llm_calls=calls,
                        mode=reply["message"]["mode"],
                    )
                )
        run.server_errors = server_errors(db)
        asyncio.run(stored_timings(db.url, run.samples))
    return run


def report(run: Run) -> None:
    s = run.samples
    rows = [
        ("request (client)", Percentiles.of([x.total_ms for x in s])),
        ("LLM, fake's own time", Percentiles.of([x.llm_ms for x in s])),
        ("overhead = request - LLM", Percentiles.of([x.total_ms - x.llm_ms for x in s])),
        ("  LLM call seen by our client", Percentiles.of([x.first_token_ms for x in s])),
        ("  retrieval (stored)", Percentiles.of([x.retrieval_ms for x in s])),
        (
            "  rest of pipeline",
            Percentiles.of([x.pipeline_ms - x.retrieval_ms - x.first_token_ms for x in s]),
        ),
        ("  accept + persist + HTTP", Percentiles.of([x.total_ms - x.pipeline_ms for x in s])),
    ]
    overhead = rows[2][1]
    verdict = "met" if overhead.p95 < TARGET_P95_MS else "MISSED"
    modes = Counter(x.mode for x in s)
    calls = Counter(x.llm_calls for x in s)
    print(
        f"\n{run.database}, {run.size} chunks: seed {run.seed_s:.1f} s, warm-up "
        f"({WARMUP_MESSAGES} messages, index build) {run.warmup_s:.1f} s; modes {dict(modes)}; "
        f"LLM calls per message {dict(calls)}"
    )
    print(f"{'ms':<32}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}{'n':>6}")
    for name, p in rows:
        print(f"{name:<32}{p.p50:8.1f}{p.p95:8.1f}{p.p99:8.1f}{p.max:8.1f}{p.n:6d}")
    print(f"failed messages: {len(run.failures)}")
    for failure in run.failures:
        print(f"  {failure}")
    for error, count in run.server_errors.most_common():
        print(f"  server log, {count}x: {error}")
    print(f"overhead p95 {overhead.p95:.1f} ms, target < {TARGET_P95_MS:.0f} ms: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=[*DATABASES, "both"], default="both")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--model-cache", type=Path, default=DEFAULT_MODEL_CACHE)
    args = parser.parse_args()
    random.seed(7)  # the synthetic chunk texts
    kinds = DATABASES if args.database == "both" else (args.database,)
    print(f"machine: {machine()}; one `answerdesk serve` process; fake LLM: ttft 0, one-token reply")
    for kind in kinds:
        for size in args.sizes:
            report(measure(kind, size, args.messages, args.model_cache.resolve()))


if __name__ == "__main__":
    main()
