"""Headless, time-bounded Locust run of widget visitors (bench/locustfile.py) against `answerdesk serve`.

Sets up everything on 127.0.0.1: a fresh database (SQLite, or PostgreSQL with --database postgres) with the
Northwind Hosting demo knowledge base, a public key allowed from one origin, the fake OpenAI-compatible LLM
in its own process (tests/fakes/openai_server.py, --ttft-ms 300), and `answerdesk serve` (--workers N,
through Redis when N > 1). Every visitor comes from 127.0.0.1, so the per-IP chat rate limits are raised
for the run (they would otherwise hold all visitors to one visitor's budget). Prints users, requests/s,
p50/p95 per request type and the errors. Run:
`PYTHONPATH=. .venv/bin/python bench/load_test.py [--users 50] [--spawn-rate 5] [--run-time 60]
[--workers 1] [--redis-url redis://...] [--database sqlite|postgres] [--think 2-6]`.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.chat_concurrency import fake_llm
from bench.kb_fixture import (
    DATABASES,
    DEFAULT_MODEL_CACHE,
    BenchDatabase,
    bench_database,
    machine,
    seed_demo,
    serve_process,
    server_errors,
)

from answerdesk.auth.models import ApiKeyKind
from answerdesk.auth.service import ApiKeyService
from answerdesk.config import Settings
from answerdesk.kit.db import session_scope
from answerdesk.kit.logging import configure_logging
from answerdesk.runtime import Runtime

ORIGIN = "https://shop.example.com"
UNLIMITED = "100000/minute"
LOCUSTFILE = Path(__file__).with_name("locustfile.py")


async def public_key(db: BenchDatabase, organization_id: uuid.UUID, model_cache: Path) -> str:
    settings = Settings(
        env="test", data_dir=db.data_dir, database_url=db.url, redis_url=None, model_cache_dir=model_cache
    )
    runtime = Runtime.build(settings)
    try:
        async with session_scope(runtime.sessionmaker) as session:
            _, key = await ApiKeyService(session).create(
                organization_id,
                kind=ApiKeyKind.public,
                name="load test widget",
                allowed_origins=[ORIGIN],
            )
    finally:
        await runtime.close()
    return key


def run_locust(base: str, key: str, args: argparse.Namespace, out: Path) -> None:
    """Runs locust headless, time-bounded, into CSV files under ``out``."""
    env = {
        **os.environ,
        "ANSWERDESK_BENCH_PUBLIC_KEY": key,
        "ANSWERDESK_BENCH_ORIGIN": ORIGIN,
        "ANSWERDESK_BENCH_THINK_SECONDS": args.think,
    }
    command = [
        str(Path(sys.executable).parent / "locust"),
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--users",
        str(args.users),
        "--spawn-rate",
        str(args.spawn_rate),
        "--run-time",
        f"{args.run_time}s",
        "--stop-timeout",
        "30",
        "--host",
        base,
        "--csv",
        str(out / "locust"),
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    # Locust exits 1 when any request failed: the failures are printed from its CSV, not raised.
    with (out / "locust.log").open("w") as log:
        done = subprocess.run(
            command, env=env, check=False, timeout=args.run_time + 120, stdout=log, stderr=subprocess.STDOUT
        )
    if not (out / "locust_stats.csv").exists():
        raise RuntimeError(f"locust exited {done.returncode}: {(out / 'locust.log').read_text()[-2000:]}")


def print_stats(out: Path, args: argparse.Namespace, workers: int, kind: str) -> None:
    with (out / "locust_stats.csv").open() as f:
        rows = list(csv.DictReader(f))
    print(
        f"\n{kind}, {workers} worker(s), {args.users} users (spawn {args.spawn_rate}/s), "
        f"{args.run_time} s, think {args.think} s, load average {os.getloadavg()[0]:.2f}"
    )
    print(
        f"{'request':<22}{'count':>7}{'fails':>7}{'req/s':>8}"
        f"{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}"
    )
    for row in rows:
        print(
            f"{row['Name'][:21]:<22}{row['Request Count']:>7}{row['Failure Count']:>7}"
            f"{float(row['Requests/s']):8.2f}{row['50%']:>9}{row['95%']:>9}{row['99%']:>9}"
            f"{float(row['Max Response Time']):9.0f}"
        )
    failures = out / "locust_failures.csv"
    if failures.exists():
        with failures.open() as f:
            for row in csv.DictReader(f):
                print(f"failure, {row['Occurrences']}x: {row['Method']} {row['Name']}: {row['Error'][:120]}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=DATABASES, default="sqlite")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--spawn-rate", type=float, default=5.0)
    parser.add_argument("--run-time", type=int, default=60, help="seconds")
    parser.add_argument("--think", default="2-6", help="seconds between a visitor's questions, as low-high")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--redis-url", default=None, help="ANSWERDESK_REDIS_URL (needed with several workers)"
    )
    parser.add_argument("--ttft-ms", type=int, default=300, help="the fake LLM's time to first token")
    parser.add_argument("--model-cache", type=Path, default=DEFAULT_MODEL_CACHE)
    args = parser.parse_args()
    if args.workers > 1 and not args.redis_url:
        parser.error("several workers share live events and limits through Redis: give --redis-url")
    configure_logging("WARNING")
    model_cache = args.model_cache.resolve()
    print(f"machine: {machine()}; fake LLM ttft {args.ttft_ms} ms; locust against `answerdesk serve`")
    with bench_database(args.database) as db:
        started = time.perf_counter()
        organization_id, _, chunks = asyncio.run(seed_demo(db, model_cache))
        key = asyncio.run(public_key(db, organization_id, model_cache))
        print(
            f"{args.database}: demo knowledge base {chunks} chunks, "
            f"seeded in {time.perf_counter() - started:.1f} s"
        )
        with fake_llm(args.ttft_ms) as llm_url:
            env = {
                "ANSWERDESK_LLM_BASE_URL": llm_url,
                "ANSWERDESK_LLM_API_KEY": "bench",
                "ANSWERDESK_LLM_MODEL": "bench-model",
                "ANSWERDESK_REDIS_URL": args.redis_url or "",
                # Every visitor is 127.0.0.1 here; a real site's visitors each have their own budget.
                "ANSWERDESK_CHAT_START_LIMIT_PER_IP": UNLIMITED,
                "ANSWERDESK_CHAT_MESSAGE_LIMIT_PER_IP": UNLIMITED,
                "ANSWERDESK_CHAT_SIGNAL_LIMIT_PER_IP": UNLIMITED,
                "ANSWERDESK_CHAT_LIMIT_PER_KEY": UNLIMITED,
            }
            with (
                serve_process(db, model_cache, env, workers=args.workers) as (base, _),
                tempfile.TemporaryDirectory(prefix="answerdesk-locust-") as tmp,
            ):
                run_locust(base, key, args, Path(tmp))
                print_stats(Path(tmp), args, args.workers, args.database)
        for error, count in server_errors(db).most_common():
            print(f"server log, {count}x: {error}")


if __name__ == "__main__":
    main()
