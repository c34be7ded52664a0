"""What counting an AI answer costs, and that concurrent counting never passes the plan's limit.

Two "replicas" (two engines with their own connection pools on one database, as two processes would have)
reserve answers for one organization at once through billing.service.AnswerQuota: one short transaction
with a conditional UPDATE each. Prints the reservations granted (must equal the limit), and the latency
of one reservation (p50/p95) under that contention and alone. Run:
`PYTHONPATH=src:. .venv/bin/python bench/answer_quota.py [--database sqlite|postgres|both]
[--limit 500] [--attempts 800] [--concurrency 16]`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid

from bench.kb_fixture import DATABASES, BenchDatabase, bench_database, machine

from answerdesk.billing.schemas import PlanCreate
from answerdesk.billing.service import AnswerQuota, BillingService, seed_plans
from answerdesk.config import Settings
from answerdesk.kit.db import create_engine, create_sessionmaker
from answerdesk.kit.jobs import InProcessQueue
from answerdesk.tenants.service import OrganizationService


def _p(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))] * 1000


async def run(db: BenchDatabase, limit: int, attempts: int, concurrency: int) -> None:
    settings = Settings(env="test", database_url=db.url, data_dir=db.data_dir, secret_key="bench-" + "x" * 40)
    engines = [create_engine(db.url), create_engine(db.url)]
    makers = [create_sessionmaker(e) for e in engines]
    await seed_plans(makers[0], settings)
    async with makers[0]() as session:
        org = await OrganizationService(session).create(f"Bench {uuid.uuid4().hex[:6]}")
        billing = BillingService(session, settings)
        await billing.create_plan(PlanCreate(slug="bench", name="Bench", answers_per_month=limit))
        await billing.set_plan(org, "bench")
        await session.commit()
    jobs = InProcessQueue(None)  # type: ignore[arg-type] - warnings are queued, never run here
    quotas = [AnswerQuota(m, settings, jobs) for m in makers]

    latencies: list[float] = []
    granted = 0
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        nonlocal granted
        async with gate:
            started = time.perf_counter()
            if await quotas[i % 2].reserve(org.id) is not None:
                granted += 1
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(attempts)))
    wall = time.perf_counter() - started
    alone: list[float] = []
    for _ in range(100):
        t = time.perf_counter()
        await quotas[0].reserve(org.id)
        alone.append(time.perf_counter() - t)
    for engine in engines:
        await engine.dispose()
    verdict = "OK" if granted == limit else "OVERSHOOT/UNDERSHOOT"
    print(
        f"{db.kind:8} granted {granted}/{attempts} with limit {limit} [{verdict}]; "
        f"{concurrency} at once on 2 engines: p50 {_p(latencies, 0.5):.1f} ms, "
        f"p95 {_p(latencies, 0.95):.1f} ms, "
        f"{attempts / wall:.0f}/s; alone: p50 {statistics.median(alone) * 1000:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=[*DATABASES, "both"], default="both")
    parser.add_argument("--limit", type=int, default=500)
    parser.add_argument("--attempts", type=int, default=800)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    print(machine())
    for kind in DATABASES if args.database == "both" else (args.database,):
        with bench_database(kind) as db:
            asyncio.run(run(db, args.limit, args.attempts, args.concurrency))


if __name__ == "__main__":
    main()
