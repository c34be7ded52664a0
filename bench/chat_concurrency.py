"""100 concurrent streaming chat messages against a 300 ms LLM: time to first token, errors, answer modes.

Target: TTFT p95 < 500 ms and zero errors. One `answerdesk serve` process (as `make run` starts it) holds
the Northwind Hosting demo knowledge base; its LLM is the loopback fake (tests/fakes/openai_server.py,
run standalone in its own process with --ttft-ms 300). Each round, every client first starts its own
conversation; then all of them send one in-scope, non-FAQ question at the same moment with
`Accept: text/event-stream`. TTFT is from sending the message to the first `token` event; an error is a
non-200, an `error` event or a stream without `done`. The `done` message's mode is counted (all should
be "llm"). Before each burst an untimed GET refreshes the API key's last_used_at (the SQLite lock-up in
bench/kb_fixture.py, KEY_REFRESH_SECONDS). The server-side split (stored first_token_ms of the LLM
call, retrieval_ms, pipeline latency_ms) is read from the database afterwards. Run:
`PYTHONPATH=. .venv/bin/python bench/chat_concurrency.py [--database sqlite|postgres|both]
[--clients 100] [--rounds 2] [--ttft-ms 300] [--spread-ms 0] [--model-cache DIR]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from bench.kb_fixture import (
    DATABASES,
    DEFAULT_MODEL_CACHE,
    Percentiles,
    bench_database,
    machine,
    refresh_key,
    seed_demo,
    serve,
    server_errors,
)
from tests.live import free_port

from answerdesk.chat.models import Message
from answerdesk.kit.db import create_engine, create_sessionmaker
from answerdesk.kit.logging import configure_logging

TARGET_TTFT_P95_MS = 500.0
# In scope for the demo knowledge base, no FAQ entry asks the same (bench/data/answer_threshold_cases.json).
QUESTIONS = (
    "my website says 403 forbidden after i uploaded my files",
    "how to import a big database",
    "how do i make a new email adress for my staff member",
    "outlook wont send emails",
    "setting up my work email on iphone",
    "mailbox full what do i do",
    "the emails i send end up in peoples junk folder",
    "getting relay access denied when sending",
    "site keeps saying too many redirects since i turned on https",
    "how do i restore just one email account from a backup",
)


@dataclass
class Outcome:
    ttft_ms: float | None = None
    total_ms: float = 0.0
    error: str | None = None
    mode: str | None = None
    message_id: uuid.UUID | None = None


@contextmanager
def fake_llm(ttft_ms: int) -> Iterator[str]:
    """The fake OpenAI server in its own process, so its timers do not compete with the clients' loop."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.openai_server", "--port", str(port), "--ttft-ms", str(ttft_ms)],
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.post(f"{base}/chat/completions", json={}, timeout=1)  # a 400 means it is up
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("fake LLM did not start") from None
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


async def start_conversation(client: httpx.AsyncClient) -> uuid.UUID | str:
    response = await client.post("/api/v1/conversations", json={})
    if response.status_code != 201:
        return f"start: HTTP {response.status_code}"
    return uuid.UUID(response.json()["id"])


async def ask(client: httpx.AsyncClient, conversation: uuid.UUID, question: str, delay: float) -> Outcome:
    await asyncio.sleep(delay)
    outcome = Outcome()
    started = time.perf_counter()
    try:
        async with client.stream(
            "POST",
            f"/api/v1/conversations/{conversation}/messages",
            json={"content": question},
            headers={"Accept": "text/event-stream"},
        ) as response:
            if response.status_code != 200:
                body = (await response.aread()).decode(errors="replace")
                outcome.error = f"HTTP {response.status_code} {body[:60]}"
                return outcome
            event = ""
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    if event == "token" and outcome.ttft_ms is None:
                        outcome.ttft_ms = (time.perf_counter() - started) * 1000
                    elif event == "done":
                        message = json.loads(line[5:])["message"]
                        outcome.mode = message["mode"]
                        outcome.message_id = uuid.UUID(message["id"])
                    elif event == "error":
                        outcome.error = "error event: " + json.loads(line[5:])["error"]["code"]
        if outcome.error is None and outcome.mode is None:
            outcome.error = "no done event"
    except httpx.HTTPError as exc:
        outcome.error = f"{type(exc).__name__}: {str(exc)[:80]}"
    finally:
        outcome.total_ms = (time.perf_counter() - started) * 1000
    return outcome


async def burst(base: str, key: str, clients: int, spread_ms: float = 0.0) -> tuple[list[Outcome], float]:
    """Start every conversation, then send all questions at once (or evenly over ``spread_ms``)."""
    limits = httpx.Limits(max_connections=clients + 10, max_keepalive_connections=clients + 10)
    async with httpx.AsyncClient(
        base_url=base, timeout=120, limits=limits, headers={"Authorization": f"Bearer {key}"}
    ) as client:
        started = await asyncio.gather(*(start_conversation(client) for _ in range(clients)))
        t0 = time.perf_counter()
        outcomes = await asyncio.gather(
            *(
                ask(client, c, QUESTIONS[i % len(QUESTIONS)], spread_ms / 1000 * i / clients)
                if isinstance(c, uuid.UUID)
                else asyncio.sleep(0, Outcome(error=c))
                for i, c in enumerate(started)
            )
        )
        return list(outcomes), (time.perf_counter() - t0) * 1000


async def stored_timings(url: str, ids: Sequence[uuid.UUID]) -> list[dict[str, float]]:
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            rows = (
                await session.execute(
                    sa.select(Message.latency_ms, Message.details).where(Message.id.in_(list(ids)))
                )
            ).all()
    finally:
        await engine.dispose()
    timings = []
    for row in rows:
        details: dict[str, Any] = row.details or {}
        timings.append(
            {
                "pipeline": float(row.latency_ms or 0),
                "retrieval": float(details.get("retrieval_ms") or 0),
                "llm_first_token": float(details.get("first_token_ms") or 0),
            }
        )
    return timings


def report(
    kind: str, round_no: int, outcomes: list[Outcome], wall_ms: float, stored: list[dict[str, float]]
) -> None:
    ttft = Percentiles.of([o.ttft_ms for o in outcomes if o.ttft_ms is not None])
    total = Percentiles.of([o.total_ms for o in outcomes if o.error is None])
    errors = Counter(o.error for o in outcomes if o.error is not None)
    modes = Counter(o.mode for o in outcomes if o.mode is not None)
    verdict = "met" if ttft.p95 < TARGET_TTFT_P95_MS and not errors else "MISSED"
    print(f"\n{kind}, round {round_no}: {len(outcomes)} clients, wall {wall_ms:.0f} ms, modes {dict(modes)}")
    print(f"{'ms':<34}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}{'n':>6}")
    rows = [("TTFT (client)", ttft), ("total per message (client)", total)]
    for name, label in (
        ("llm_first_token", "  LLM first token (server's client)"),
        ("retrieval", "  retrieval (stored)"),
        ("pipeline", "  pipeline (stored latency_ms)"),
    ):
        rows.append((label, Percentiles.of([s[name] for s in stored])))
    for name, p in rows:
        print(f"{name:<34}{p.p50:8.1f}{p.p95:8.1f}{p.p99:8.1f}{p.max:8.1f}{p.n:6d}")
    print(f"errors: {sum(errors.values())} {dict(errors) if errors else ''}")
    print(f"TTFT p95 {ttft.p95:.0f} ms, target < {TARGET_TTFT_P95_MS:.0f} ms and no errors: {verdict}")


def measure(kind: str, clients: int, rounds: int, ttft_ms: int, spread_ms: float, model_cache: Path) -> None:
    with bench_database(kind) as db:
        started = time.perf_counter()
        _, key, chunks = asyncio.run(seed_demo(db, model_cache))
        print(
            f"\n{kind}: demo knowledge base {chunks} chunks, seeded in {time.perf_counter() - started:.1f} s"
        )
        with fake_llm(ttft_ms) as llm_url:
            env = {
                "ANSWERDESK_LLM_BASE_URL": llm_url,
                "ANSWERDESK_LLM_API_KEY": "bench",
                "ANSWERDESK_LLM_MODEL": "bench-model",
            }
            with (
                serve(db, model_cache, env) as base,
                httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}) as sync,
            ):
                # Warm-up: index build, model loads, connection pools; sequential, not measured.
                warm: list[Outcome] = []
                for _ in QUESTIONS:
                    refresh_key(sync)
                    warm += asyncio.run(burst(base, key, 1))[0]
                if any(o.error for o in warm):
                    raise RuntimeError(f"warm-up failed: {[o.error for o in warm if o.error]}")
                for round_no in range(1, rounds + 1):
                    refresh_key(sync)  # no request of the burst may be the one that writes last_used_at
                    outcomes, wall_ms = asyncio.run(burst(base, key, clients, spread_ms))
                    ids = [o.message_id for o in outcomes if o.message_id is not None]
                    report(kind, round_no, outcomes, wall_ms, asyncio.run(stored_timings(db.url, ids)))
        # A traceback is often logged twice (our handler, then uvicorn): these count log lines, not requests.
        for error, count in server_errors(db).most_common():
            print(f"server log, {count}x: {error}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=[*DATABASES, "both"], default="both")
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2, help="bursts per database, on the same server")
    parser.add_argument("--ttft-ms", type=int, default=300, help="the fake LLM's time to first token")
    parser.add_argument(
        "--spread-ms", type=float, default=0.0, help="send the messages evenly over this window, not at once"
    )
    parser.add_argument("--model-cache", type=Path, default=DEFAULT_MODEL_CACHE)
    args = parser.parse_args()
    configure_logging("WARNING")  # the demo seeding logs every document at INFO
    kinds = DATABASES if args.database == "both" else (args.database,)
    print(
        f"machine: {machine()}; server: one `answerdesk serve` process (one uvicorn worker); "
        f"fake LLM: own process, ttft {args.ttft_ms} ms; messages sent "
        + (f"evenly over {args.spread_ms:.0f} ms" if args.spread_ms else "at once")
    )
    for kind in kinds:
        measure(kind, args.clients, args.rounds, args.ttft_ms, args.spread_ms, args.model_cache.resolve())


if __name__ == "__main__":
    main()
