"""Live chat across processes: message delivery latency and the memory of idle WebSocket connections.

Two `answerdesk serve` processes (A and B) share one database and Redis (ANSWERDESK_REDIS_URL, the event
bus). The customer talks to A (HTTP posts, WebSocket for live events); staff to B (session cookie, the
Live chats page's SSE stream). Measured, each over --messages round trips, one at a time:

- customer→staff: from sending POST /conversations/{id}/messages to A until the `message` event arrives on
  staff's SSE stream from B (the customer's POST also runs the sentiment model; its own time is reported);
- staff→customer: from sending POST /conversations/{id}/replies to B until the WebSocket on A delivers it;
- typing customer→staff: a WebSocket `typing` event to A until B's stream has it (the bus alone, no DB).

Target: p95 < 100 ms on loopback. Then --idle WebSocket connections (one conversation each) are opened to A
and held; the memory per connection is A's RSS growth divided by their number. Run:
`PYTHONPATH=. .venv/bin/python bench/live_latency.py [--database sqlite|postgres] [--messages 200]
[--idle 500] [--redis redis://127.0.0.1:6379/14] [--model-cache DIR]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from bench.kb_fixture import (
    BENCH_SECRET,
    DEFAULT_MODEL_CACHE,
    BenchDatabase,
    Percentiles,
    bench_database,
    machine,
)
from tests.factories import PASSWORD, logged_in
from tests.live import free_port, wait_until_healthy
from websockets.asyncio.client import ClientConnection, connect

from answerdesk.auth.models import ApiKeyKind, Role
from answerdesk.auth.service import ApiKeyService, MemberService
from answerdesk.kit.db import create_engine, create_sessionmaker, session_scope
from answerdesk.tenants.service import OrganizationService

TARGET_P95_MS = 100.0
ORIGIN = "http://bench.example"
STAFF_EMAIL = "anna@bench.example"
UNLIMITED = "1000000/minute"


@dataclass(frozen=True)
class Seeded:
    org_id: uuid.UUID
    public_key: str
    secret_key: str


async def seed(db: BenchDatabase) -> Seeded:
    engine = create_engine(db.url)
    async with session_scope(create_sessionmaker(engine)) as s:
        org = await OrganizationService(s).create("Bench Hosting")
        await MemberService(s).create(org.id, STAFF_EMAIL, Role.staff, name="Anna", password=PASSWORD)
        _, public = await ApiKeyService(s).create(org.id, kind=ApiKeyKind.public, allowed_origins=[ORIGIN])
        _, secret = await ApiKeyService(s).create(org.id, kind=ApiKeyKind.secret)
    await engine.dispose()
    return Seeded(org.id, public, secret)


@dataclass(frozen=True)
class Server:
    base: str
    pid: int

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")


@contextmanager
def server(db: BenchDatabase, model_cache: Path, redis_url: str, name: str) -> Iterator[Server]:
    port = free_port()
    env = {
        **os.environ,
        "ANSWERDESK_DATA_DIR": str(db.data_dir / name),
        "ANSWERDESK_DATABASE_URL": db.url,
        "ANSWERDESK_REDIS_URL": redis_url,
        "ANSWERDESK_MODEL_CACHE_DIR": str(model_cache.resolve()),
        "ANSWERDESK_LOG_LEVEL": "WARNING",
        "ANSWERDESK_SECRET_KEY": BENCH_SECRET,
        "ANSWERDESK_CHAT_START_LIMIT_PER_IP": UNLIMITED,
        "ANSWERDESK_CHAT_MESSAGE_LIMIT_PER_IP": UNLIMITED,
        "ANSWERDESK_CHAT_SIGNAL_LIMIT_PER_IP": UNLIMITED,
        "ANSWERDESK_CHAT_LIMIT_PER_KEY": UNLIMITED,
    }
    log = (db.data_dir / f"server-{name}.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "answerdesk.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base, proc)
        yield Server(base, proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def customer_headers(seeded: Seeded, token: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {seeded.public_key}", "Origin": ORIGIN}
    if token:
        headers["X-Conversation-Token"] = token
    return headers


def ws_url(base: str, seeded: Seeded, cid: str, token: str) -> str:
    return f"{base.replace('http://', 'ws://')}/api/v1/conversations/{cid}/live?key={seeded.public_key}&token={token}"


async def sse(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    buffer = ""
    async for chunk in response.aiter_text():
        buffer += chunk
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            for line in block.splitlines():
                if line.startswith("data: "):
                    yield json.loads(line[6:])


async def ws_message(ws: ClientConnection, content: str) -> None:
    while True:
        event = json.loads(await asyncio.wait_for(ws.recv(), 30))
        if event["type"] == "message" and event["message"]["content"] == content:
            return


async def latency(a: Server, b: Server, seeded: Seeded, rounds: int) -> dict[str, Percentiles]:
    async with (
        httpx.AsyncClient(base_url=a.base, timeout=60) as customer,
        httpx.AsyncClient(base_url=b.base, timeout=60) as staff_client,
    ):
        started = (await customer.post("/api/v1/conversations", headers=customer_headers(seeded))).json()
        cid, token = started["id"], started["token"]
        staff = await logged_in(staff_client, STAFF_EMAIL)
        taken = await staff_client.post(f"/api/v1/conversations/{cid}/takeover", headers=staff.headers())
        taken.raise_for_status()
        # Warm-up: the first customer message loads the sentiment model in A.
        await customer.post(
            f"/api/v1/conversations/{cid}/messages",
            headers=customer_headers(seeded, token),
            json={"content": "hi"},
        )
        to_staff: list[float] = []
        post_time: list[float] = []
        to_customer: list[float] = []
        typing: list[float] = []
        async with (
            staff_client.stream("GET", "/admin/live/events") as stream,
            connect(ws_url(a.base, seeded, cid, token), origin=ORIGIN) as ws,  # type: ignore[arg-type]
        ):
            staff_events = sse(stream)
            while json.loads(await ws.recv())["type"] != "status":
                pass
            for n in range(rounds):
                text = f"customer {n}"
                t0 = time.perf_counter()
                post = asyncio.create_task(
                    customer.post(
                        f"/api/v1/conversations/{cid}/messages",
                        headers=customer_headers(seeded, token),
                        json={"content": text},
                    )
                )
                async for event in staff_events:
                    if event.get("type") == "message" and event["message"]["content"] == text:
                        break
                to_staff.append((time.perf_counter() - t0) * 1000)
                post_time.append((await post).elapsed.total_seconds() * 1000)

                text = f"staff {n}"
                t0 = time.perf_counter()
                reply = asyncio.create_task(
                    staff_client.post(
                        f"/api/v1/conversations/{cid}/replies",
                        headers=staff.headers(),
                        json={"content": text},
                    )
                )
                await ws_message(ws, text)
                to_customer.append((time.perf_counter() - t0) * 1000)
                (await reply).raise_for_status()

                t0 = time.perf_counter()
                await ws.send(json.dumps({"type": "typing", "typing": n % 2 == 0}))
                async for event in staff_events:
                    if event.get("type") == "typing" and event.get("conversation_id") == cid:
                        break
                typing.append((time.perf_counter() - t0) * 1000)
    return {
        "customer→staff message (send → staff's SSE)": Percentiles.of(to_staff),
        "  of which the customer's POST (sentiment, DB)": Percentiles.of(post_time),
        "staff→customer message (send → customer's WS)": Percentiles.of(to_customer),
        "customer→staff typing (WS → staff's SSE)": Percentiles.of(typing),
    }


async def idle_connections(a: Server, seeded: Seeded, count: int) -> tuple[int, int, float]:
    async with httpx.AsyncClient(base_url=a.base, timeout=60) as http:
        sem = asyncio.Semaphore(20)

        async def start() -> tuple[str, str]:
            async with sem:
                r = await http.post("/api/v1/conversations", headers=customer_headers(seeded))
                r.raise_for_status()
                return r.json()["id"], r.json()["token"]

        conversations = await asyncio.gather(*(start() for _ in range(count)))
    await asyncio.sleep(1)
    before = a.rss_kib()
    sockets: list[ClientConnection] = []
    t0 = time.perf_counter()
    try:
        for cid, token in conversations:
            ws = await connect(ws_url(a.base, seeded, cid, token), origin=ORIGIN)  # type: ignore[arg-type]
            while json.loads(await ws.recv())["type"] != "status":
                pass
            sockets.append(ws)
        opened = time.perf_counter() - t0
        await asyncio.sleep(3)  # idle: nothing but the protocol's pings
        after = a.rss_kib()
        alive = sum(1 for ws in sockets if ws.state.name == "OPEN")
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    if alive != count:
        print(f"  only {alive} of {count} connections stayed open")
    return before, after, opened


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--idle", type=int, default=500)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--model-cache", type=Path, default=DEFAULT_MODEL_CACHE)
    args = parser.parse_args()
    print(machine())
    with bench_database(args.database) as db:
        seeded = asyncio.run(seed(db))
        with (
            server(db, args.model_cache, args.redis, "a") as a,
            server(db, args.model_cache, args.redis, "b") as b,
        ):
            print(
                f"Two processes on Redis ({args.redis}), {args.database}; {args.messages} round trips, "
                f"p95 target < {TARGET_P95_MS:.0f} ms"
            )
            for name, p in asyncio.run(latency(a, b, seeded, args.messages)).items():
                figures = (
                    f"p50 {p.p50:6.1f} ms  p95 {p.p95:6.1f} ms  p99 {p.p99:6.1f} ms  max {p.max:6.1f} ms"
                )
                print(f"  {name:<48} {figures}")
            before, after, opened = asyncio.run(idle_connections(a, seeded, args.idle))
            per = (after - before) / args.idle
            print(
                f"{args.idle} idle WebSocket connections on process A: opened in {opened:.1f} s; "
                f"RSS {before / 1024:.1f} → {after / 1024:.1f} MiB; {per:.1f} KiB per connection"
            )


if __name__ == "__main__":
    main()
