"""Search latency through the HTTP API at 10k and 100k chunks (p50/p95), on a real server on 127.0.0.1.

Synthetic chunks (random unit vectors, texts drawn from a support-flavoured vocabulary) are written
straight into a fresh SQLite database; each query goes through POST /api/v1/knowledge/search, so the
figure includes HTTP, auth, the index generation check, query embedding (ONNX), FAISS, BM25, fusion and
the database lookup of the hits. Run: `.venv/bin/python bench/search_latency.py [--sizes 10000 100000]`.

Then it adds a document of 20 chunks (tagged ``fresh``) as an upload would, and searches without pause
until a search filtered on that tag finds them: the time a change takes to reach searches, and the
latency of the other searches meanwhile, while the server refreshes its index in the background.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import sqlalchemy as sa
from tests.live import free_port, wait_until_healthy

from answerdesk.auth.models import ApiKeyKind
from answerdesk.auth.service import ApiKeyService
from answerdesk.kit.db import create_engine, create_sessionmaker, session_scope, utcnow
from answerdesk.kit.migrate import upgrade_to_head
from answerdesk.knowledge.models import Chunk, Document
from answerdesk.knowledge.repository import IndexStateRepository
from answerdesk.tenants.service import OrganizationService

WORDS = (
    "domain dns nameserver record mx cname txt propagation email imap smtp pop3 port ssl certificate "
    "renew autossl cpanel password login backup restore database mysql phpmyadmin wordpress install "
    "invoice payment refund plan upgrade cancel migration transfer website hosting error timeout "
    "mailbox quota spam spf dkim dmarc webmail outlook thunderbird iphone android file manager ftp "
    "redirect https mixed content cache php version cron job subdomain addon parked suspend overdue"
).split()
QUERIES = [
    "how do I change my nameservers",
    "smtp port for outlook",
    "renew my ssl certificate",
    "reset cpanel password",
    "restore a backup of my website",
    "refund for my hosting plan",
    "ERR_SSL_PROTOCOL_ERROR after moving",
    "emails going to spam spf dkim",
    "upgrade to business plan",
    "migrate my wordpress site from another host",
]


async def add_fresh_document(url: str, org_id: uuid.UUID, n: int = 20) -> None:
    """A new document as ingestion leaves it: chunks committed, then the generation bumped."""
    engine = create_engine(url)
    maker = create_sessionmaker(engine)
    rng = np.random.default_rng(11)
    async with session_scope(maker) as db:
        doc = Document(
            organization_id=org_id, title="Fresh", source="file", filename="fresh.md", status="ready"
        )
        db.add(doc)
        await db.flush()
        vectors = rng.standard_normal((n, 384)).astype("<f4")
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        rows = [
            {
                "organization_id": org_id,
                "document_id": doc.id,
                "position": i,
                "section": "",
                "text": " ".join(random.choices(WORDS, k=60)),
                "kind": "text",
                "token_count": 80,
                "content_hash": uuid.uuid4().hex,
                "tags": ["fresh"],
                "embedding": vectors[i].tobytes(),
                "created_at": utcnow(),
            }
            for i in range(n)
        ]
        await db.execute(sa.insert(Chunk), rows)
        await IndexStateRepository(db).bump(org_id)
    await engine.dispose()


async def seed(url: str, n: int) -> tuple[uuid.UUID, str]:
    engine = create_engine(url)
    maker = create_sessionmaker(engine)
    rng = np.random.default_rng(7)
    async with session_scope(maker) as db:
        org = await OrganizationService(db).create(f"Bench {n}")
        _, key = await ApiKeyService(db).create(org.id, kind=ApiKeyKind.secret, name="bench")
        doc = Document(
            organization_id=org.id,
            title="Synthetic",
            source="file",
            filename="synthetic.md",
            status="ready",
            chunk_count=n,
        )
        db.add(doc)
        await db.flush()
        org_id, doc_id = org.id, doc.id
    now = utcnow()
    batch = 5000
    for start in range(0, n, batch):
        size = min(batch, n - start)
        vectors = rng.standard_normal((size, 384)).astype("<f4")
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        rows = [
            {
                "organization_id": org_id,
                "document_id": doc_id,
                "position": start + i,
                "section": "",
                "text": " ".join(random.choices(WORDS, k=60)),
                "kind": "text",
                "token_count": 80,
                "content_hash": uuid.uuid4().hex,
                "tags": [],
                "embedding": vectors[i].tobytes(),
                "created_at": now,
            }
            for i in range(size)
        ]
        async with session_scope(maker) as db:
            await db.execute(sa.insert(Chunk), rows)
    async with session_scope(maker) as db:
        await IndexStateRepository(db).bump(org_id)
    await engine.dispose()
    return org_id, key


@contextmanager
def serve_process(data: Path, url: str, model_cache: Path) -> Iterator[str]:
    """`answerdesk serve` in its own process, as in production (a client in the same process would
    share its GIL and inflate every figure)."""
    port = free_port()
    env = {
        **os.environ,
        "ANSWERDESK_DATA_DIR": str(data),
        "ANSWERDESK_DATABASE_URL": url,
        "ANSWERDESK_MODEL_CACHE_DIR": str(model_cache.resolve()),
        "ANSWERDESK_LOG_LEVEL": "WARNING",
        "ANSWERDESK_SECRET_KEY": "bench-" + "x" * 40,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "answerdesk.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base, proc)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def measure(size: int, queries: int, model_cache: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        url = f"sqlite+aiosqlite:///{data / 'bench.db'}"
        upgrade_to_head(url)
        started = time.perf_counter()
        org_id, key = asyncio.run(seed(url, size))
        seeded = time.perf_counter() - started
        with (
            serve_process(data, url, model_cache) as base,
            httpx.Client(base_url=base, timeout=120) as client,
        ):
            headers = {"Authorization": f"Bearer {key}"}
            t0 = time.perf_counter()
            first = client.post(
                "/api/v1/knowledge/search", json={"query": "warm up", "k": 5}, headers=headers
            )
            first.raise_for_status()
            build = time.perf_counter() - t0
            for q in QUERIES:  # warm caches
                client.post("/api/v1/knowledge/search", json={"query": q, "k": 5}, headers=headers)
            times: list[float] = []
            for i in range(queries):
                q = QUERIES[i % len(QUERIES)]
                t = time.perf_counter()
                r = client.post("/api/v1/knowledge/search", json={"query": q, "k": 5}, headers=headers)
                times.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200 and len(r.json()["results"]) == 5
            visible, during = change_to_visible(client, headers, url, org_id)
        print(
            f"{size:>7} chunks | seed {seeded:5.1f} s | first search (index build) {build * 1000:7.0f} ms | "
            f"p50 {statistics.median(times):6.1f} ms | p95 {percentile(times, 95):6.1f} ms | "
            f"max {max(times):6.1f} ms | n={queries}"
        )
        print(
            f"{size:>7} chunks | new document searchable after {visible:5.2f} s | searches meanwhile: "
            f"p50 {statistics.median(during):6.1f} ms | p95 {percentile(during, 95):6.1f} ms | "
            f"max {max(during):6.1f} ms | n={len(during)}"
        )


def change_to_visible(
    client: httpx.Client, headers: dict[str, str], url: str, org_id: uuid.UUID
) -> tuple[float, list[float]]:
    """Seconds from a committed change until a search sees it, and the latencies of searches until then."""
    asyncio.run(add_fresh_document(url, org_id))
    started = time.perf_counter()
    during: list[float] = []
    deadline = started + 600
    while time.perf_counter() < deadline:
        probe = client.post(
            "/api/v1/knowledge/search", json={"query": "dns", "k": 5, "tags": ["fresh"]}, headers=headers
        )
        if probe.json()["results"]:
            return time.perf_counter() - started, during or [0.0]
        t = time.perf_counter()
        q = QUERIES[len(during) % len(QUERIES)]
        r = client.post("/api/v1/knowledge/search", json={"query": q, "k": 5}, headers=headers)
        during.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200
    raise RuntimeError("the new document never became searchable")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--model-cache", type=Path, default=Path("var/models"))
    args = parser.parse_args()
    random.seed(7)
    for size in args.sizes:
        measure(size, args.queries, args.model_cache)


if __name__ == "__main__":
    main()
