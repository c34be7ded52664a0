"""Shared bench set-up: a fresh SQLite or PostgreSQL database, a seeded knowledge base, `answerdesk serve`.

The synthetic-chunk seeding is bench/search_latency.py's (imported, not copied); the server helper here
differs from its `serve_process` only in taking extra environment (the LLM settings). Run the benches with
PYTHONPATH=. (as the Makefile does) so `bench.*` and `tests.*` import.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import subprocess
import sys
import tempfile
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import httpx
from bench.search_latency import seed as seed_synthetic
from pydantic import SecretStr
from tests.live import free_port, wait_until_healthy

from answerdesk.auth.models import ApiKeyKind
from answerdesk.auth.service import ApiKeyService
from answerdesk.config import Settings
from answerdesk.demo.seed import seed_demo_knowledge
from answerdesk.kit.db import session_scope
from answerdesk.kit.migrate import upgrade_to_head
from answerdesk.runtime import Runtime
from answerdesk.tenants.service import OrganizationService

DATABASES = ("sqlite", "postgres")
POSTGRES_ADMIN_URL = os.environ.get(
    "ANSWERDESK_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BENCH_SECRET = "bench-" + "x" * 40
DEFAULT_MODEL_CACHE = Path(os.environ.get("ANSWERDESK_MODEL_CACHE_DIR", "var/models"))
SERVER_LOG = "server.log"  # the server's stderr, in its DATA_DIR
_EXCEPTION_LINE = re.compile(r"^[a-z_][\w.]*\.[A-Z]\w*(?:Error|Exception): .*$", re.MULTILINE)
_database_numbers = itertools.count()

__all__ = [
    "DATABASES",
    "BenchDatabase",
    "Percentiles",
    "bench_database",
    "machine",
    "refresh_key",
    "seed_demo",
    "seed_synthetic",
    "serve",
    "serve_process",
    "server_errors",
]


@dataclass(frozen=True)
class BenchDatabase:
    kind: str  # "sqlite" or "postgres"
    url: str  # SQLAlchemy async URL, migrated to head
    data_dir: Path  # the server's DATA_DIR (and the SQLite file's folder)


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextmanager
def bench_database(kind: str) -> Iterator[BenchDatabase]:
    """A fresh, migrated database; a PostgreSQL one (answerdesk_bench_<pid>_<n>) is dropped afterwards."""
    with tempfile.TemporaryDirectory(prefix="answerdesk-bench-") as tmp:
        data = Path(tmp)
        if kind == "sqlite":
            url = f"sqlite+aiosqlite:///{data / 'bench.db'}"
            upgrade_to_head(url)
            yield BenchDatabase(kind, url, data)
            return
        if kind != "postgres":
            raise ValueError(f"database must be one of {DATABASES}, not {kind!r}")
        name = f"answerdesk_bench_{os.getpid()}_{next(_database_numbers)}"
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
        try:
            base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
            url = f"{base}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1)
            upgrade_to_head(url)
            yield BenchDatabase(kind, url, data)
        finally:
            asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def seed_demo(db: BenchDatabase, model_cache: Path) -> tuple[uuid.UUID, str, int]:
    """The Northwind Hosting demo knowledge base, ingested now; returns (org id, secret key, chunks)."""
    settings = Settings(
        env="test",
        data_dir=db.data_dir,
        database_url=db.url,
        secret_key=SecretStr(BENCH_SECRET),
        redis_url=None,
        model_cache_dir=model_cache,
    )
    runtime = Runtime.build(settings)
    try:
        async with session_scope(runtime.sessionmaker) as session:
            org = await OrganizationService(session).create("Northwind Hosting (bench)")
            _, key = await ApiKeyService(session).create(org.id, kind=ApiKeyKind.secret, name="bench")
            org_id = org.id
        chunks = await seed_demo_knowledge(runtime, org_id)
    finally:
        await runtime.close()
    return org_id, key, chunks


@contextmanager
def serve(db: BenchDatabase, model_cache: Path, env: Mapping[str, str] | None = None) -> Iterator[str]:
    """`answerdesk serve` in its own process (a client in the same process would share its GIL)."""
    with serve_process(db, model_cache, env) as (base, _):
        yield base


@contextmanager
def serve_process(
    db: BenchDatabase, model_cache: Path, env: Mapping[str, str] | None = None, *, workers: int = 1
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Like `serve`, with ``--workers``; also yields the process (the parent of the workers when N > 1)."""
    port = free_port()
    full_env = {
        **os.environ,
        "ANSWERDESK_DATA_DIR": str(db.data_dir),
        "ANSWERDESK_DATABASE_URL": db.url,
        "ANSWERDESK_MODEL_CACHE_DIR": str(model_cache.resolve()),
        "ANSWERDESK_LOG_LEVEL": "WARNING",
        "ANSWERDESK_SECRET_KEY": BENCH_SECRET,
        **(env or {}),
    }
    log = (db.data_dir / SERVER_LOG).open("ab")
    command = [sys.executable, "-m", "answerdesk.cli", "serve", "--port", str(port)]
    proc = subprocess.Popen(
        [*command, "--workers", str(workers)] if workers != 1 else command,
        env=full_env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base, proc)
        yield base, proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def server_errors(db: BenchDatabase) -> Counter[str]:
    """The exceptions the server logged (the last line of each traceback), by message."""
    path = db.data_dir / SERVER_LOG
    text = path.read_text(errors="replace") if path.exists() else ""
    return Counter(m.group(0)[:160] for m in _EXCEPTION_LINE.finditer(text))


# The first request of a minute with an API key writes its last_used_at in the request's session and holds
# that SQLite write lock while POST .../messages stores the customer's message in another session: that
# request waits out the 30 s busy timeout and fails with a 500 (the write is rolled back, so every later
# message fails the same way). An untimed GET that commits last_used_at first keeps the benches measuring.
KEY_REFRESH_SECONDS = 30.0


def refresh_key(client: httpx.Client) -> None:
    """An authenticated GET that commits the key's last_used_at (see KEY_REFRESH_SECONDS)."""
    client.get("/api/v1/ai-settings").raise_for_status()


@dataclass(frozen=True)
class Percentiles:
    p50: float
    p95: float
    p99: float
    max: float
    n: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Percentiles:
        ordered = sorted(values)
        if not ordered:
            return cls(float("nan"), float("nan"), float("nan"), float("nan"), 0)

        def at(p: float) -> float:
            # Nearest rank, as in search_latency.py, so the figures compare.
            return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

        return cls(at(50), at(95), at(99), ordered[-1], len(ordered))


def machine() -> str:
    """One line about where the figures were taken: CPUs and load when the run started."""
    load = os.getloadavg()
    return (
        f"{os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, "
        f"Python {sys.version.split()[0]}"
    )
