"""Memory and first-search latency of many organizations on one process, with and without a cache bound.

Seeds a fresh SQLite (or PostgreSQL) database with ``--orgs`` organizations of ``--chunks`` synthetic
chunks each (random unit vectors, ~60-word texts from a support vocabulary plus words of the
organization's own, a quarter tagged), then runs the retriever directly (no HTTP) in one child
process per configuration, so each RSS figure starts from a fresh interpreter:

* ``unbounded``, empty index folder: the first search of each organization builds its index from the
  database (and saves it); the second pass is warm. RSS after every organization was used once.
* ``bounded`` (``--cache-mb``), the files the first run saved: first searches load from files; the
  next passes, cycling through every organization, miss again (load from files); a hot
  organization searched repeatedly stays warm. RSS after each pass shows where it levels off.

Searches pass a query vector (no embedding model), so latency is the index's part: the generation
check, load or build when missing, FAISS, BM25, fusion and the database read of the hits.
Run: `PYTHONPATH=.:src .venv/bin/python bench/index_cache.py [--orgs 1000 --chunks 200 --cache-mb 64]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from bench.kb_fixture import DATABASES, Percentiles, bench_database, machine
from bench.search_latency import WORDS

from answerdesk.kit.db import create_engine, create_sessionmaker, session_scope, utcnow
from answerdesk.knowledge.embedding import Embedder
from answerdesk.knowledge.models import Chunk, Document
from answerdesk.knowledge.repository import IndexStateRepository
from answerdesk.retrieval.service import Retriever
from answerdesk.tenants.models import Organization

QUERY_WORDS = ["nameserver", "ssl", "refund", "backup", "password", "spam", "migration", "cron"]


async def seed(url: str, orgs: int, chunks: int) -> None:
    engine = create_engine(url)
    maker = create_sessionmaker(engine)
    rng = np.random.default_rng(7)
    pick = random.Random(7)
    now = utcnow()
    for n in range(orgs):
        own = [f"product{n}x{i}" for i in range(40)]  # each organization's own names and codes
        org_id, doc_id = uuid.uuid4(), uuid.uuid4()
        vectors = rng.standard_normal((chunks, 384)).astype("<f4")
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        async with session_scope(maker) as db:
            db.add(Organization(id=org_id, name=f"Bench {n}", slug=f"bench-{n}"))
            await db.flush()
            db.add(
                Document(
                    id=doc_id,
                    organization_id=org_id,
                    title="Synthetic",
                    source="file",
                    filename="synthetic.md",
                    status="ready",
                    chunk_count=chunks,
                )
            )
            await db.flush()
            rows = [
                {
                    "organization_id": org_id,
                    "document_id": doc_id,
                    "position": i,
                    "section": "",
                    "text": " ".join(pick.choices(WORDS, k=50) + pick.choices(own, k=10)),
                    "kind": "text",
                    "token_count": 80,
                    "content_hash": uuid.uuid4().hex,
                    "tags": ["billing"] if i % 4 == 0 else [],
                    "embedding": vectors[i].tobytes(),
                    "created_at": now,
                }
                for i in range(chunks)
            ]
            await db.execute(sa.insert(Chunk), rows)
            await IndexStateRepository(db).bump(org_id)
    await engine.dispose()


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


async def _no_embedder() -> Embedder:
    raise RuntimeError("the bench passes query vectors")


async def run(url: str, index_dir: Path, cache_mb: int, hot_searches: int, passes: int) -> dict[str, object]:
    """One configuration in this (child) process; returns its figures."""
    engine = create_engine(url)
    maker = create_sessionmaker(engine)
    async with maker() as db:
        org_ids = list(await db.scalars(sa.select(Organization.id).order_by(Organization.slug)))
    retriever = Retriever(
        index_dir, _no_embedder, hnsw_threshold=20_000, cache_bytes=cache_mb * 1024 * 1024 or None
    )
    rng = np.random.default_rng(3)
    query = rng.standard_normal(384).astype(np.float32)
    query /= np.linalg.norm(query)
    started_rss = rss_mb()

    async def one_pass() -> list[float]:
        times = []
        for n, org_id in enumerate(org_ids):
            async with maker() as db:
                t = time.perf_counter()
                found = await retriever.search(
                    db, org_id, QUERY_WORDS[n % len(QUERY_WORDS)], k=5, query_vector=query
                )
                times.append((time.perf_counter() - t) * 1000)
                assert len(found) == 5
            await retriever.wait_idle(org_id)  # its save, so the next configuration finds the files
        return times

    first = await one_pass()
    rss = [rss_mb()]
    second: list[float] = []
    for _ in range(passes - 1):
        second += await one_pass()
        rss.append(rss_mb())
    hot: list[float] = []
    async with maker() as db:
        for _ in range(hot_searches):
            t = time.perf_counter()
            await retriever.search(db, org_ids[0], "ssl certificate", k=5, query_vector=query)
            hot.append((time.perf_counter() - t) * 1000)
    cache = retriever._indexes
    await engine.dispose()
    return {
        "first": first,
        "second": second,
        "hot": hot,
        "rss_start": started_rss,
        "rss": rss,
        "cached": len(cache),
        "cache_mb": cache.bytes / 1024 / 1024,
        "evictions": cache.evictions,
    }


def child(url: str, index_dir: Path, cache_mb: int, hot: int, passes: int) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", url, str(index_dir), str(cache_mb), str(hot), str(passes)],
        check=True,
        capture_output=True,
        text=True,
    )
    figures: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def line(label: str, values: object) -> str:
    assert isinstance(values, list)
    p = Percentiles.of(values)
    return f"  {label:<38} p50 {p.p50:7.2f} ms   p95 {p.p95:7.2f} ms   max {p.max:7.1f} ms   n={p.n}"


def report(title: str, f: dict[str, object], first: str, second: str) -> None:
    print(f"{title}")
    print(line(first, f["first"]))
    print(line(second, f["second"]))
    print(line("hot organization, repeated", f["hot"]))
    rss = f["rss"]
    assert isinstance(rss, list)
    passes = ", ".join(f"{r:.0f}" for r in rss)
    print(f"  RSS: {f['rss_start']:.0f} MB at start; after each pass over every organization: {passes} MB")
    print(
        f"  cache: {f['cached']} organizations, {f['cache_mb']:.1f} MB estimated, {f['evictions']} evictions"
    )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        url, index_dir = sys.argv[2], Path(sys.argv[3])
        cache_mb, hot, passes = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
        print(json.dumps(asyncio.run(run(url, index_dir, cache_mb, hot, passes))))
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orgs", type=int, default=1000)
    parser.add_argument("--chunks", type=int, default=200)
    parser.add_argument("--cache-mb", type=int, default=64)
    parser.add_argument("--hot", type=int, default=200, help="searches of the hot organization")
    parser.add_argument("--passes", type=int, default=3, help="passes over every organization (>= 2)")
    parser.add_argument("--database", choices=DATABASES, default="sqlite")
    args = parser.parse_args()
    print(f"{args.orgs} organizations x {args.chunks} chunks, {args.database}; {machine()}")
    with bench_database(args.database) as bench:
        t = time.perf_counter()
        asyncio.run(seed(bench.url, args.orgs, args.chunks))
        print(f"seeded in {time.perf_counter() - t:.0f} s")
        index_dir = bench.data_dir / "indexes"
        unbounded = child(bench.url, index_dir, 0, args.hot, args.passes)
        report(
            "unbounded (ANSWERDESK_INDEX_CACHE_MB=0)",
            unbounded,
            "first search: built from database",
            "later passes: warm",
        )
        bounded = child(bench.url, index_dir, args.cache_mb, args.hot, args.passes)
        report(
            f"bounded (ANSWERDESK_INDEX_CACHE_MB={args.cache_mb})",
            bounded,
            "first search: loaded from files",
            "later passes: evicted, loaded again",
        )


if __name__ == "__main__":
    main()
