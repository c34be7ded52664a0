"""What the Prometheus middleware adds to a request, and what a scrape of /metrics costs.

The same app with and without MetricsMiddleware, in-process over httpx's ASGI transport (no sockets), on
GET /healthz (no database: the request is nearly all middleware) and on GET /api/v1/conversations/{id}
(a route template with a path parameter: the template is rebuilt per request), in alternating rounds so
machine noise hits both alike. Then the time to render /metrics. Prints microseconds per request (median
of the rounds). Run: `PYTHONPATH=src:. .venv/bin/python bench/metrics_overhead.py [--requests 2000]`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from fastapi import FastAPI
from tests.conftest import make_settings, started_app

from answerdesk.kit import metrics
from answerdesk.kit.migrate import upgrade_to_head

ROUNDS = 5


def without_metrics(app: FastAPI) -> FastAPI:
    app.user_middleware = [m for m in app.user_middleware if m.cls is not metrics.MetricsMiddleware]
    return app


async def per_request_us(client: httpx.AsyncClient, path: str, n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        await client.get(path)
    return (time.perf_counter() - started) / n * 1e6


async def main(requests: int) -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    with tempfile.TemporaryDirectory(prefix="answerdesk-bench-") as tmp:
        root = Path(tmp)
        url = f"sqlite+aiosqlite:///{root / 'bench.db'}"
        await asyncio.to_thread(upgrade_to_head, url)
        paths = {"/healthz": "/healthz", "conversation": f"/api/v1/conversations/{uuid.uuid4()}"}
        results: dict[tuple[str, bool], list[float]] = {}
        async with (
            started_app(make_settings(url, root / "a")) as with_app,
            started_app(make_settings(url, root / "b")) as plain_app,
        ):
            without_metrics(plain_app)
            plain_app.middleware_stack = plain_app.build_middleware_stack()
            for app in (with_app, plain_app):
                app.state.bench_client = httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url="http://bench"
                )
            for _ in range(ROUNDS):
                for name, path in paths.items():
                    for app, on in ((with_app, True), (plain_app, False)):
                        us = await per_request_us(app.state.bench_client, path, requests // ROUNDS)
                        results.setdefault((name, on), []).append(us)
            scrape = []
            for _ in range(50):
                started = time.perf_counter()
                body, _ = metrics.render(None)
                scrape.append((time.perf_counter() - started) * 1e3)
            for app in (with_app, plain_app):
                await app.state.bench_client.aclose()
        print(f"requests per case: {requests} in {ROUNDS} alternating rounds (median of rounds shown)")
        for name in paths:
            on = statistics.median(results[(name, True)])
            off = statistics.median(results[(name, False)])
            print(f"{name:>14}: {off:8.1f} us without, {on:8.1f} us with metrics, +{on - off:6.1f} us")
        print(f"render /metrics: {statistics.median(scrape):.2f} ms median ({len(body)} bytes)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    asyncio.run(main(parser.parse_args().requests))
