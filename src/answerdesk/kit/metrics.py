"""Prometheus metrics: the series Answerdesk exports, the HTTP middleware that times requests, and /metrics.

One process needs nothing. With several worker processes, set PROMETHEUS_MULTIPROC_DIR in the environment (an
empty directory, the same for every worker, emptied before start): prometheus_client then keeps each process's
values in files there and /metrics sums them, whichever worker answers.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TypeVar

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

T = TypeVar("T")

# Seconds: from tens of milliseconds (a JSON read) to a minute (a long LLM answer).
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
UNMATCHED = "<unmatched>"
# Anything else a client sends is one label, so made-up methods cannot multiply the series.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

HTTP_REQUESTS = Counter(
    "answerdesk_http_requests_total",
    "HTTP requests by route template and status",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "answerdesk_http_request_duration_seconds",
    "Time to the response headers, by route template (streams: until the stream starts)",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
ANSWERS = Counter("answerdesk_answers_total", "Bot answers stored, by mode", ["mode"])
ANSWER_LATENCY = Histogram(
    "answerdesk_answer_duration_seconds",
    "From question to stored answer, by mode",
    ["mode"],
    buckets=LATENCY_BUCKETS,
)
LLM_LATENCY = Histogram(
    "answerdesk_llm_request_duration_seconds",
    "LLM completions that succeeded (streams: until the last token)",
    buckets=LATENCY_BUCKETS,
)
LLM_ERRORS = Counter(
    "answerdesk_llm_errors_total", "Failed LLM attempts (each retry counts), by kind", ["kind"]
)
LLM_TOKENS = Counter("answerdesk_llm_tokens_total", "Tokens of successful LLM completions", ["kind"])
JOBS_ENQUEUED = Counter("answerdesk_jobs_enqueued_total", "Background jobs queued, by task", ["task"])
# Set from the queue itself at each scrape (Redis is shared, so any one process's reading is the truth).
JOBS_QUEUED = Gauge(
    "answerdesk_jobs_queued",
    "Background jobs not finished yet: queued, deferred, waiting to retry or running",
    multiprocess_mode="mostrecent",
)
JOBS_RUNNING = Gauge(
    "answerdesk_jobs_running", "Background jobs running now, by task", ["task"], multiprocess_mode="livesum"
)
JOBS_FINISHED = Counter(
    "answerdesk_jobs_finished_total",
    "Job attempts that ended, by task and outcome (succeeded, retried, failed)",
    ["task", "outcome"],
)
WHMCS_CALLS = Counter(
    "answerdesk_whmcs_calls_total",
    "WHMCS API actions, by action and outcome (ok or the error)",
    ["action", "outcome"],
)
INDEX_REFRESHES = Counter(
    "answerdesk_index_refreshes_total",
    "Search index refreshes of an organization, by how (built from the database, updated, loaded from disk)",
    ["how"],
)
LIVE_CONNECTIONS = Gauge(
    "answerdesk_live_connections",
    "Open live-chat connections, by kind",
    ["kind"],
    multiprocess_mode="livesum",
)


def answered(mode: str, latency_ms: float) -> None:
    ANSWERS.labels(mode).inc()
    ANSWER_LATENCY.labels(mode).observe(latency_ms / 1000)


def llm_completed(latency_ms: float, prompt_tokens: int, completion_tokens: int) -> None:
    LLM_LATENCY.observe(latency_ms / 1000)
    LLM_TOKENS.labels("prompt").inc(prompt_tokens)
    LLM_TOKENS.labels("completion").inc(completion_tokens)


def check_multiprocess(directory: Path | None) -> None:
    """prometheus_client picks file-backed values when it is imported, from the process environment only."""
    active = bool(getattr(values.ValueClass, "_multiprocess", False))
    if directory is not None and not active:
        raise RuntimeError(
            "PROMETHEUS_MULTIPROC_DIR must be in the environment before Answerdesk starts (not only in .env)"
        )
    if directory is not None and not directory.is_dir():
        raise RuntimeError(f"PROMETHEUS_MULTIPROC_DIR {directory} is not a directory")


def render(directory: Path | None) -> tuple[bytes, str]:
    """The exposition text: this process's registry, or every worker's values in multiprocess mode."""
    if directory is None:
        return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
    return generate_latest(registry), CONTENT_TYPE_LATEST


def process_exited(directory: Path | None) -> None:
    """Drops this process's live gauges (jobs running, connections) from the shared directory at shutdown."""
    if directory is not None:
        multiprocess.mark_process_dead(os.getpid(), path=str(directory))  # type: ignore[no-untyped-call]


async def track_connection(kind: str, events: AsyncIterator[T]) -> AsyncIterator[T]:
    """Counts a live stream as one open connection for as long as it is iterated."""
    gauge = LIVE_CONNECTIONS.labels(kind)
    gauge.inc()
    try:
        async for event in events:
            yield event
    finally:
        gauge.dec()


def route_template(scope: Scope) -> str:
    """The matched route's path template (``/api/v1/conversations/{conversation_id}``), never the raw path."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if not isinstance(path, str) or not path:
        return UNMATCHED
    if isinstance(route, Mount):
        return path.rstrip("/") + "/{path}"
    if ":path}" in path:
        return path  # a catch-all: the prefix cannot be told apart from what it caught
    # The matched route knows its path within its router, not the prefixes of the routers that include it
    # ("/api/v1"): those are the leading segments of the request path that the route's segments do not cover.
    parts = path.split("/")
    requested = str(scope.get("path", "")).split("/")
    prefix = requested[: max(1, len(requested) - (len(parts) - 1))]
    return "/".join(prefix + parts[1:])


def _method(scope: Scope) -> str:
    method: str = scope["method"]
    return method if method in METHODS else "OTHER"


class MetricsMiddleware:
    """Counts and times every HTTP request by method, route template and status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        timed = False

        def observe() -> None:
            nonlocal timed
            if not timed:
                timed = True
                HTTP_LATENCY.labels(_method(scope), route_template(scope)).observe(
                    time.perf_counter() - started
                )

        async def send_timed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                observe()
            await send(message)

        try:
            await self.app(scope, receive, send_timed)
        finally:
            observe()
            HTTP_REQUESTS.labels(_method(scope), route_template(scope), str(status)).inc()
