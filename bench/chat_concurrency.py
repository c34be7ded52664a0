"""Streaming chat messages against a 300 ms LLM: time to first token, errors, CPU per message, answer modes.

Targets: a burst of 100 messages at once, TTFT p95 < 1.0 s; a sustained 40 messages/s, TTFT p95 < 500 ms;
no errors. `answerdesk serve` (one process, or `--workers N` through Redis) holds the Northwind Hosting demo
knowledge base; its LLM is the loopback fake (tests/fakes/openai_server.py, run standalone in its own
process with --ttft-ms 300). Burst mode (the default): every client first starts its own conversation,
then all send one in-scope, non-FAQ question at the same moment with `Accept: text/event-stream`. The
visitors' client (`--client lean`, the default) is bench/lean_http.py: each visitor asks over the keep-alive
connection it opened its conversation on, as a browser (or a reverse proxy's upstream pool) does, and the
client spends ~1 ms of CPU a message; `--client httpx` is the bench as it was (3 to 7 ms of client CPU a
message on the server's own cores, new connections for the questions).
Sustained mode (`--rate R --duration S`): R messages a second for S seconds, open loop (a message is sent
on time whether or not earlier ones were answered), over a pool of conversations (each gets a message
every few seconds, so later ones carry history). TTFT is from sending the message to the first `token`
event; an error is a non-200, an `error` event or a stream without `done`. CPU per message is the server
processes' user+system CPU over the round divided by the messages, also shown per process; the CPU of what
shares the machine over the round is shown beside it (this client, the fake LLM, PostgreSQL and Redis). The
`done` message's mode is counted (all should be "llm"). Before each round an untimed GET refreshes the API
key's last_used_at (the SQLite lock-up in bench/kb_fixture.py, KEY_REFRESH_SECONDS). The server-side split
(stored first_token_ms of the LLM call, retrieval_ms, pipeline latency_ms) is read from the database
afterwards. `--profile DIR` records each round with py-spy (the `bench` extra) and prints where the
server's samples went. Run:
`PYTHONPATH=. .venv/bin/python bench/chat_concurrency.py [--database sqlite|postgres|both]
[--clients 100] [--rounds 2] [--rate 40 --duration 30] [--workers 1 2] [--redis-url redis://...]
[--ttft-ms 300] [--spread-ms 0] [--profile DIR] [--model-cache DIR] [--client lean|httpx]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx
import psutil
import sqlalchemy as sa
from bench.kb_fixture import (
    DATABASES,
    DEFAULT_MODEL_CACHE,
    Percentiles,
    bench_database,
    machine,
    refresh_key,
    seed_demo,
    serve_process,
    server_errors,
)
from bench.lean_http import LeanConnection, LeanHTTPError
from tests.live import free_port

from answerdesk.chat.models import Message
from answerdesk.kit.db import create_engine, create_sessionmaker
from answerdesk.kit.logging import configure_logging

TARGET_BURST_TTFT_P95_MS = 1000.0
TARGET_SUSTAINED_TTFT_P95_MS = 500.0
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
def fake_llm(ttft_ms: int) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
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
        yield base, proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _read_event(outcome: Outcome, event: str, data: str, started: float) -> None:
    """Folds one server-sent event of the answer into the outcome."""
    if event == "token" and outcome.ttft_ms is None:
        outcome.ttft_ms = (time.perf_counter() - started) * 1000
    elif event == "done":
        message = json.loads(data)["message"]
        outcome.mode = message["mode"]
        outcome.message_id = uuid.UUID(message["id"])
    elif event == "error":
        outcome.error = "error event: " + json.loads(data)["error"]["code"]


async def _read_answer(
    outcome: Outcome,
    status: int,
    body: Callable[[], Awaitable[bytes]],
    lines: AsyncIterator[str],
    started: float,
) -> None:
    """Folds a streamed answer (its status, then its lines) into the outcome."""
    if status != 200:
        outcome.error = f"HTTP {status} {(await body()).decode(errors='replace')[:60]}"
        return
    event = ""
    async for line in lines:
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            _read_event(outcome, event, line[5:], started)
    if outcome.error is None and outcome.mode is None:
        outcome.error = "no done event"


class Visitors(Protocol):
    """The widget visitors of a round: they open conversations, then ask in them."""

    async def open(self, count: int) -> list[uuid.UUID]: ...

    async def ask(self, conversation: uuid.UUID, question: str, delay: float) -> Outcome: ...

    async def aclose(self) -> None: ...


class LeanVisitors:
    """Each visitor keeps the keep-alive connection it opened its conversation on and asks over it (a second
    one only while the first is busy), through bench/lean_http.py: little client CPU on the server's cores."""

    def __init__(self, base: str, key: str) -> None:
        self._base = base
        self._headers = {"Authorization": f"Bearer {key}"}
        self._idle: dict[uuid.UUID, list[LeanConnection]] = {}

    async def _start_one(self) -> uuid.UUID | str:
        connection = await LeanConnection.open(self._base, self._headers)
        response = await connection.request("POST", "/api/v1/conversations", {})
        body = await response.json()
        if response.status != 201:
            await connection.close()
            return f"start: HTTP {response.status}"
        conversation = uuid.UUID(body["id"])
        self._idle[conversation] = [connection]
        return conversation

    async def open(self, count: int) -> list[uuid.UUID]:
        return _started(await asyncio.gather(*(self._start_one() for _ in range(count))))

    async def _connection(self, conversation: uuid.UUID) -> LeanConnection:
        idle = self._idle.setdefault(conversation, [])
        # An idle connection may be closed by the server meanwhile: only recent ones are reused.
        while idle:
            connection = idle.pop()
            if time.monotonic() - connection.idle_since < LEAN_REUSE_SECONDS:
                return connection
            await connection.close()
        return await LeanConnection.open(self._base, self._headers)

    async def ask(self, conversation: uuid.UUID, question: str, delay: float) -> Outcome:
        await asyncio.sleep(delay)
        outcome = Outcome()
        started = time.perf_counter()
        connection: LeanConnection | None = None
        try:
            connection = await self._connection(conversation)
            response = await connection.request(
                "POST",
                f"/api/v1/conversations/{conversation}/messages",
                {"content": question},
                {"Accept": "text/event-stream"},
            )
            await _read_answer(outcome, response.status, response.read, response.lines(), started)
        except (LeanHTTPError, OSError) as exc:
            outcome.error = f"{type(exc).__name__}: {str(exc)[:80]}"
        finally:
            outcome.total_ms = (time.perf_counter() - started) * 1000
            if connection is not None:
                if connection.reusable and outcome.error is None:
                    self._idle[conversation].append(connection)
                else:
                    await connection.close()
        return outcome

    async def aclose(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                await connection.close()
        self._idle.clear()


# uvicorn closes idle keep-alive connections after answerdesk's KEEP_ALIVE_SECONDS (75 s).
LEAN_REUSE_SECONDS = 30.0


class HttpxVisitors:
    """The visitors through httpx, as the bench ran before bench/lean_http.py: conversations opened by one
    client, the questions asked by another (new connections); 3 to 7 ms of client CPU a message."""

    def __init__(self, base: str, key: str) -> None:
        self._base, self._key = base, key
        self._client: httpx.AsyncClient | None = None

    async def open(self, count: int) -> list[uuid.UUID]:
        async with _client(self._base, self._key, count) as client:
            return _started(await asyncio.gather(*(start_conversation(client) for _ in range(count))))

    async def ask(self, conversation: uuid.UUID, question: str, delay: float) -> Outcome:
        if self._client is None:
            self._client = _client(self._base, self._key, 1000)
        return await ask(self._client, conversation, question, delay)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()


def visitors(kind: str, base: str, key: str) -> Visitors:
    return LeanVisitors(base, key) if kind == "lean" else HttpxVisitors(base, key)


def _started(results: Sequence[uuid.UUID | str]) -> list[uuid.UUID]:
    failed = [c for c in results if isinstance(c, str)]
    if failed:
        raise RuntimeError(f"could not start {len(failed)} conversations: {failed[:3]}")
    return [c for c in results if isinstance(c, uuid.UUID)]


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
            await _read_answer(outcome, response.status_code, response.aread, response.aiter_lines(), started)
    except httpx.HTTPError as exc:
        outcome.error = f"{type(exc).__name__}: {str(exc)[:80]}"
    finally:
        outcome.total_ms = (time.perf_counter() - started) * 1000
    return outcome


def _client(base: str, key: str, connections: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=connections + 10, max_keepalive_connections=connections + 10)
    return httpx.AsyncClient(
        base_url=base, timeout=120, limits=limits, headers={"Authorization": f"Bearer {key}"}
    )


async def burst(
    visitors: Visitors, conversations: list[uuid.UUID], spread_ms: float = 0.0
) -> tuple[list[Outcome], float]:
    """One question in each conversation, all at once (or evenly over ``spread_ms``)."""
    count = len(conversations)
    t0 = time.perf_counter()
    outcomes = await asyncio.gather(
        *(
            visitors.ask(c, QUESTIONS[i % len(QUESTIONS)], spread_ms / 1000 * i / count)
            for i, c in enumerate(conversations)
        )
    )
    return list(outcomes), (time.perf_counter() - t0) * 1000


# Each conversation of the sustained pool gets a message every this many seconds.
SUSTAINED_REUSE_SECONDS = 5.0


def sustained_pool(rate: float, duration: float) -> int:
    return max(1, min(round(rate * duration), round(rate * SUSTAINED_REUSE_SECONDS)))


async def sustained(
    visitors: Visitors, conversations: list[uuid.UUID], rate: float, duration: float
) -> tuple[list[Outcome], float]:
    """``rate`` messages a second for ``duration`` seconds, each sent on time (open loop), in turn over
    the conversations."""
    count = round(rate * duration)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    tasks = []
    for i in range(count):
        await asyncio.sleep(max(0.0, t0 + i / rate - loop.time()))
        conversation = conversations[i % len(conversations)]
        tasks.append(asyncio.create_task(visitors.ask(conversation, QUESTIONS[i % len(QUESTIONS)], 0.0)))
    outcomes = await asyncio.gather(*tasks)
    return list(outcomes), (loop.time() - t0) * 1000


async def run_round(
    plan: Plan, base: str, key: str, timed: Callable[[], AbstractContextManager[None]]
) -> tuple[list[Outcome], float]:
    """Opens the round's conversations (untimed), then sends its messages inside ``timed()``."""
    crowd = visitors(plan.client, base, key)
    try:
        count = sustained_pool(plan.rate, plan.duration) if plan.rate else plan.clients
        conversations = await crowd.open(count)
        with timed():
            if plan.rate:
                return await sustained(crowd, conversations, plan.rate, plan.duration)
            return await burst(crowd, conversations, plan.spread_ms)
    finally:
        await crowd.aclose()


def server_cpu_seconds(proc: subprocess.Popen[bytes]) -> float:
    """User+system CPU of the server process and its workers so far."""
    return sum(worker_cpu_seconds(proc).values())


def worker_cpu_seconds(proc: subprocess.Popen[bytes]) -> dict[int, float]:
    """User+system CPU so far of each process of the server (the supervisor and its workers), by pid."""
    root = psutil.Process(proc.pid)
    return {p.pid: cpu_seconds([p]) for p in [root, *root.children(recursive=True)]}


def cpu_seconds(processes: Sequence[psutil.Process]) -> float:
    total = 0.0
    for p in processes:
        try:
            times = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


SERVICE_NAMES = ("postgres", "redis-server")


def machine_cpu(llm: subprocess.Popen[bytes]) -> dict[str, float]:
    """CPU so far of what shares the machine with the server: this client, the fake LLM, PostgreSQL and
    Redis (all their processes)."""
    services = [p for p in psutil.process_iter(["name"]) if p.info["name"] in SERVICE_NAMES]
    return {
        "client": cpu_seconds([psutil.Process()]),
        "fake LLM": cpu_seconds([psutil.Process(llm.pid)]),
        "PostgreSQL + Redis": cpu_seconds(services),
    }


@contextmanager
def profiled(proc: subprocess.Popen[bytes], path: Path | None) -> Iterator[None]:
    """py-spy samples the server (and its workers) while the block runs; raw folded stacks go to ``path``."""
    if path is None:
        yield
        return
    spy = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "py-spy"),
            "record",
            "--pid",
            str(proc.pid),
            "--subprocesses",
            "--format",
            "raw",
            "--rate",
            "200",
            "--output",
            str(path),
            "--nonblocking",
            "--gil",  # only samples holding the GIL: the Python CPU (ONNX and SQLite run without it)
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)  # py-spy attaches before the round starts
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)
        spy.wait(timeout=60)


PROFILE_TOP = 25


def _frame_name(frame: str) -> str:
    """``func (path/file.py:12)`` -> ``func (path/file.py)``."""
    name, _, where = frame.partition(" (")
    return f"{name} ({where.split(':')[0]})" if where else name


def profile_summary(path: Path) -> None:
    """Where the server's samples went: each sample is charged to the deepest Answerdesk function on its
    stack (with everything it called), else to the library frame nearest the thread's start."""
    own: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        frames = stack.split(";")  # py-spy leaves idle threads (the loop waiting in epoll) out
        count = int(count_text)
        total += count
        ours = [f for f in frames if "answerdesk/" in f and "answerdesk/cli.py" not in f]
        if ours:
            own[_frame_name(ours[-1])] += count
        else:
            deeper = [f for f in frames if " (" in f and "<frozen" not in f and "threading.py" not in f]
            own["(outside Answerdesk) " + (_frame_name(deeper[-1]) if deeper else "?")] += count
    print(
        f"\nprofile {path.name}: {total} samples holding the GIL; charged to the deepest Answerdesk function:"
    )
    for name, count in own.most_common(PROFILE_TOP):
        print(f"  {100 * count / max(total, 1):5.1f}%  {name}")


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
    label: str,
    outcomes: list[Outcome],
    wall_ms: float,
    stored: list[dict[str, float]],
    cpu_s: float,
    others: dict[str, float],
    by_process: list[float],
    target: float,
) -> None:
    ttft = Percentiles.of([o.ttft_ms for o in outcomes if o.ttft_ms is not None])
    total = Percentiles.of([o.total_ms for o in outcomes if o.error is None])
    errors = Counter(o.error for o in outcomes if o.error is not None)
    modes = Counter(o.mode for o in outcomes if o.mode is not None)
    verdict = "met" if ttft.p95 < target and not errors else "MISSED"
    print(f"\n{label}: {len(outcomes)} messages, wall {wall_ms:.0f} ms, modes {dict(modes)}")
    print(f"{'ms':<34}{'p50':>9}{'p95':>9}{'p99':>9}{'max':>9}{'n':>6}")
    rows = [("TTFT (client)", ttft), ("total per message (client)", total)]
    for name, title in (
        ("llm_first_token", "  LLM first token (server's client)"),
        ("retrieval", "  retrieval (stored)"),
        ("pipeline", "  pipeline (stored latency_ms)"),
    ):
        rows.append((title, Percentiles.of([s[name] for s in stored])))
    for name, p in rows:
        print(f"{name:<34}{p.p50:9.1f}{p.p95:9.1f}{p.p99:9.1f}{p.max:9.1f}{p.n:6d}")
    print(f"server CPU: {cpu_s:.1f} s, {1000 * cpu_s / max(len(outcomes), 1):.1f} ms per message")
    if len(by_process) > 1:
        print("server CPU by process: " + " / ".join(f"{v:.2f} s" for v in by_process))
    print("CPU of the rest of the machine: " + ", ".join(f"{k} {v:.1f} s" for k, v in others.items()))
    print(f"errors: {sum(errors.values())} {dict(errors) if errors else ''}")
    print(f"TTFT p95 {ttft.p95:.0f} ms, target < {target:.0f} ms and no errors: {verdict}")


@dataclass(frozen=True)
class Plan:
    clients: int
    rounds: int
    ttft_ms: int
    spread_ms: float
    rate: float  # 0: burst mode
    duration: float
    redis_url: str | None
    profile_dir: Path | None
    model_cache: Path
    client: str  # "lean" (bench/lean_http.py) or "httpx"


async def warm_up(base: str, key: str, workers: int, client: str) -> None:
    """Index build, model loads and connection pools in every worker; not measured."""
    for _ in range(3):
        crowd = visitors(client, base, key)
        try:
            outcomes, _ = await burst(crowd, await crowd.open(10 * workers))
        finally:
            await crowd.aclose()
        if any(o.error for o in outcomes):
            raise RuntimeError(f"warm-up failed: {[o.error for o in outcomes if o.error]}")


def measure(kind: str, workers: int, plan: Plan) -> None:
    with bench_database(kind) as db:
        started = time.perf_counter()
        _, key, chunks = asyncio.run(seed_demo(db, plan.model_cache))
        print(
            f"\n{kind}, {workers} worker(s): demo knowledge base {chunks} chunks, "
            f"seeded in {time.perf_counter() - started:.1f} s"
        )
        with fake_llm(plan.ttft_ms) as (llm_url, llm_proc):
            env = {
                "ANSWERDESK_LLM_BASE_URL": llm_url,
                "ANSWERDESK_LLM_API_KEY": "bench",
                "ANSWERDESK_LLM_MODEL": "bench-model",
                "ANSWERDESK_REDIS_URL": plan.redis_url or "",
            }
            with (
                serve_process(db, plan.model_cache, env, workers=workers) as (base, proc),
                httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}) as sync,
            ):
                refresh_key(sync)
                asyncio.run(warm_up(base, key, workers, plan.client))
                for round_no in range(1, plan.rounds + 1):
                    refresh_key(sync)  # no request of the round may be the one that writes last_used_at
                    mode = f"rate{plan.rate:g}" if plan.rate else f"burst{plan.clients}"
                    profile = (
                        plan.profile_dir / f"{kind}-w{workers}-{mode}-r{round_no}.txt"
                        if plan.profile_dir
                        else None
                    )
                    cpu_before: dict[int, float] = {}
                    others_before: dict[str, float] = {}

                    @contextmanager
                    def timed(
                        profile: Path | None = profile,
                        cpu: dict[int, float] = cpu_before,
                        others: dict[str, float] = others_before,
                    ) -> Iterator[None]:
                        cpu.update(worker_cpu_seconds(proc))
                        others.update(machine_cpu(llm_proc))
                        with profiled(proc, profile):
                            yield

                    outcomes, wall_ms = asyncio.run(run_round(plan, base, key, timed))
                    by_process = [v - cpu_before.get(pid, 0.0) for pid, v in worker_cpu_seconds(proc).items()]
                    cpu = sum(by_process)
                    others = {k: v - others_before[k] for k, v in machine_cpu(llm_proc).items()}
                    ids = [o.message_id for o in outcomes if o.message_id is not None]
                    label = (
                        f"{kind}, {workers} worker(s), "
                        + (
                            f"{plan.rate:g} messages/s for {plan.duration:g} s"
                            if plan.rate
                            else f"burst of {plan.clients}"
                        )
                        + f", round {round_no}, load average {os.getloadavg()[0]:.2f}"
                    )
                    target = TARGET_SUSTAINED_TTFT_P95_MS if plan.rate else TARGET_BURST_TTFT_P95_MS
                    report(
                        label,
                        outcomes,
                        wall_ms,
                        asyncio.run(stored_timings(db.url, ids)),
                        cpu,
                        others,
                        by_process,
                        target,
                    )
                    if profile is not None and profile.exists():
                        profile_summary(profile)
        # A traceback is often logged twice (our handler, then uvicorn): these count log lines, not requests.
        for error, count in server_errors(db).most_common():
            print(f"server log, {count}x: {error}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=[*DATABASES, "both"], default="both")
    parser.add_argument("--clients", type=int, default=100, help="burst mode: messages sent at once")
    parser.add_argument("--rounds", type=int, default=2, help="rounds per database, on the same server")
    parser.add_argument("--rate", type=float, default=0.0, help="sustained mode: messages a second")
    parser.add_argument("--duration", type=float, default=30.0, help="sustained mode: seconds")
    parser.add_argument("--workers", type=int, nargs="+", default=[1], help="`serve --workers`, one run each")
    parser.add_argument(
        "--redis-url", default=None, help="ANSWERDESK_REDIS_URL for the server (needed with several workers)"
    )
    parser.add_argument("--ttft-ms", type=int, default=300, help="the fake LLM's time to first token")
    parser.add_argument(
        "--spread-ms", type=float, default=0.0, help="send the messages evenly over this window, not at once"
    )
    parser.add_argument("--profile", type=Path, default=None, help="py-spy each round into this folder")
    parser.add_argument("--model-cache", type=Path, default=DEFAULT_MODEL_CACHE)
    parser.add_argument(
        "--client",
        choices=["lean", "httpx"],
        default="lean",
        help="the visitors' HTTP client: lean (bench/lean_http.py, little CPU) or httpx (as before)",
    )
    args = parser.parse_args()
    if any(w > 1 for w in args.workers) and not args.redis_url:
        parser.error("several workers share live events and limits through Redis: give --redis-url")
    configure_logging("WARNING")  # the demo seeding logs every document at INFO
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    plan = Plan(
        clients=args.clients,
        rounds=args.rounds,
        ttft_ms=args.ttft_ms,
        spread_ms=args.spread_ms,
        rate=args.rate,
        duration=args.duration,
        redis_url=args.redis_url,
        profile_dir=args.profile,
        model_cache=args.model_cache.resolve(),
        client=args.client,
    )
    kinds = DATABASES if args.database == "both" else (args.database,)
    sending = (
        f"{args.rate:g} messages/s for {args.duration:g} s"
        if args.rate
        else f"bursts of {args.clients} "
        + (f"spread over {args.spread_ms:.0f} ms" if args.spread_ms else "at once")
    )
    print(
        f"machine: {machine()}; server: `answerdesk serve --workers {' / '.join(map(str, args.workers))}`"
        f"{' with Redis' if args.redis_url else ''}; fake LLM: own process, ttft {args.ttft_ms} ms; {sending}"
    )
    for kind in kinds:
        for workers in args.workers:
            measure(kind, workers, plan)


if __name__ == "__main__":
    main()
