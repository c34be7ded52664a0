"""WHMCS sync of 5,000 tickets from the loopback fake (time, requests, memory) and drafts per minute.

The fake WHMCS (tests/fakes/whmcs_server.py) runs on 127.0.0.1 in this process, seeded with
--tickets tickets (two replies each, so the customer spoke last and each needs a draft) spread over
--clients clients. One full sync, then a second one (must fetch nothing: idempotent). Memory is the
tracemalloc peak of this process during the first sync (the fake's request handling included) and
the growth of the resident set. Then the Northwind demo knowledge base is ingested and --drafts
tickets are drafted with the LLM being the fake OpenAI-compatible server, started standalone
(`python tests/fakes/openai_server.py`, --ttft-ms before the first token), sequentially and
--concurrency at a time. Run:
`PYTHONPATH=. .venv/bin/python bench/whmcs_sync.py [--database sqlite|postgres] [--tickets 5000]
[--page-size 100] [--drafts 40] [--concurrency 4] [--ttft-ms 300]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import subprocess
import sys
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
from bench.kb_fixture import DATABASES, DEFAULT_MODEL_CACHE, bench_database, machine
from pydantic import SecretStr
from tests.fakes.whmcs_server import DEFAULT_IDENTIFIER, DEFAULT_SECRET, FakeWhmcs, serve_fake_whmcs
from tests.live import free_port

from answerdesk.config import Settings
from answerdesk.demo.seed import seed_demo_knowledge
from answerdesk.kit.db import session_scope
from answerdesk.kit.logging import configure_logging
from answerdesk.runtime import Runtime
from answerdesk.tenants.service import OrganizationService
from answerdesk.tickets.connections import ConnectionService
from answerdesk.tickets.drafting import draft_reply
from answerdesk.tickets.schemas import WhmcsConnectionUpdate
from answerdesk.tickets.sync import sync_whmcs

BENCH_SECRET = "bench-secret-key-that-is-long-enough-0123456789"


@contextlib.contextmanager
def fake_llm(ttft_ms: int) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "tests/fakes/openai_server.py", "--port", str(port), "--ttft-ms", str(ttft_ms)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.post(f"{base}/chat/completions", json={}, timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the fake LLM did not start") from None
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def run(args: argparse.Namespace, url: str, data_dir: Path, llm_url: str) -> None:
    settings = Settings(
        env="test",
        data_dir=data_dir,
        database_url=url,
        secret_key=SecretStr(BENCH_SECRET),
        redis_url=None,
        model_cache_dir=args.model_cache,
        llm_base_url=llm_url,
        llm_api_key=SecretStr("bench"),
        llm_model="fake/ok",
        llm_fallback_model=None,
    )
    runtime = Runtime.build(settings)
    fake = FakeWhmcs()
    dept = fake.add_department("Technical Support")
    clients = [fake.add_client("Client", f"N{i}", active_products=i % 4).id for i in range(args.clients)]
    per_client = args.tickets // len(clients)
    for n, client_id in enumerate(clients):
        count = per_client + (args.tickets - per_client * len(clients) if n == 0 else 0)
        fake.add_tickets(
            count, deptid=dept.id, client=client_id, replies_per_ticket=2, subject_prefix=f"C{n}"
        )
    try:
        with serve_fake_whmcs(fake) as server:
            async with session_scope(runtime.sessionmaker) as db:
                org_id = (await OrganizationService(db).create("Bench Hosting")).id
                await ConnectionService(db, runtime).save(
                    org_id,
                    WhmcsConnectionUpdate(
                        url=server.base_url,
                        identifier=DEFAULT_IDENTIFIER,
                        secret=DEFAULT_SECRET,
                        timeout_seconds=30,
                    ),
                )
            fake.clear_requests()
            rss_before = rss_mb()
            started = time.perf_counter()
            first = await sync_whmcs(runtime, org_id, page_size=args.page_size)
            seconds = time.perf_counter() - started
            requests = len(fake.requests)
            report = first.report
            print(
                f"first sync: {report.created} tickets, {report.messages_added} messages in {seconds:.1f} s "
                f"({report.created / seconds:.0f} tickets/s); {requests} WHMCS requests "
                f"({report.pages} GetTickets pages of {args.page_size}, {report.fetched} GetTicket, "
                f"{report.clients_fetched} GetClientsDetails, 1 GetSupportDepartments)"
            )
            print(f"max RSS {rss_before:.0f} -> {rss_mb():.0f} MiB over the first sync")
            fake.clear_requests()
            started = time.perf_counter()
            second = await sync_whmcs(runtime, org_id, page_size=args.page_size)
            print(
                f"second sync: {second.report.unchanged} unchanged, {second.report.fetched} fetched, "
                f"{len(fake.requests)} requests in {time.perf_counter() - started:.1f} s"
            )
            # Memory on a second organization (a fresh full sync): tracemalloc slows Python down,
            # so it is measured apart from the timed run.
            async with session_scope(runtime.sessionmaker) as db:
                traced_org = (await OrganizationService(db).create("Bench Hosting traced")).id
                await ConnectionService(db, runtime).save(
                    traced_org,
                    WhmcsConnectionUpdate(
                        url=server.base_url,
                        identifier=DEFAULT_IDENTIFIER,
                        secret=DEFAULT_SECRET,
                        timeout_seconds=30,
                    ),
                )
            tracemalloc.start()
            await sync_whmcs(runtime, traced_org, page_size=args.page_size)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(
                f"memory: tracemalloc peak {peak / 2**20:.1f} MiB during a full sync (fake server included)"
            )
            await drafts_per_minute(runtime, org_id, first.needs_draft[: args.drafts], args.concurrency)
    finally:
        await runtime.close()


async def drafts_per_minute(
    runtime: Runtime, org_id: uuid.UUID, ticket_ids: list[uuid.UUID], concurrency: int
) -> None:
    started = time.perf_counter()
    chunks = await seed_demo_knowledge(runtime, org_id)
    print(f"demo knowledge base: {chunks} chunks in {time.perf_counter() - started:.1f} s")
    await draft_reply(runtime, org_id, ticket_ids[0])  # warm-up: index load, model first use
    half = len(ticket_ids) // 2
    sequential, parallel = ticket_ids[1 : half + 1], ticket_ids[half + 1 :]
    started = time.perf_counter()
    modes: dict[str, int] = {}
    for ticket_id in sequential:
        draft = await draft_reply(runtime, org_id, ticket_id)
        if draft is not None:
            modes[draft.mode] = modes.get(draft.mode, 0) + 1
    seconds = time.perf_counter() - started
    print(
        f"drafts, one at a time: {len(sequential) / seconds * 60:.0f}/min ({len(sequential)} drafts, {modes})"
    )
    gate = asyncio.Semaphore(concurrency)

    async def one(ticket_id: uuid.UUID) -> None:
        async with gate:
            await draft_reply(runtime, org_id, ticket_id)

    started = time.perf_counter()
    await asyncio.gather(*(one(t) for t in parallel))
    seconds = time.perf_counter() - started
    print(f"drafts, {concurrency} at a time: {len(parallel) / seconds * 60:.0f}/min ({len(parallel)} drafts)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=DATABASES, default="sqlite")
    parser.add_argument("--tickets", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--drafts", type=int, default=41)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--ttft-ms", type=int, default=300)
    parser.add_argument("--model-cache", type=Path, default=DEFAULT_MODEL_CACHE)
    args = parser.parse_args()
    configure_logging("WARNING")
    print(f"machine: {machine()}; database: {args.database}; fake LLM time to first token {args.ttft_ms} ms")
    with fake_llm(args.ttft_ms) as llm_url, bench_database(args.database) as db:
        asyncio.run(run(args, db.url, db.data_dir, llm_url))


if __name__ == "__main__":
    main()
