"""Event bus for live updates: in-process fan-out by default, Redis pub/sub across processes when set."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import structlog
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from answerdesk.kit.outage import REDIS_DOWN, RedisOutage

log = structlog.get_logger(__name__)

Event = dict[str, Any]
EventSource = Event | Callable[[], Event]
# A subscriber this far behind is cut off rather than buffered without bound; it reconnects and replays.
SUBSCRIBER_BACKLOG = 512
REDIS_PREFIX = "answerdesk:events:"
# Events queued while the previous PUBLISH ran go to Redis together, at most this many in one round trip.
PUBLISH_BATCH = 64


class EventBus(Protocol):
    async def publish(self, channel: str, event: Event) -> None: ...

    def publish_nowait(self, channel: str, event: Event) -> None:
        """Publish from synchronous code on the event loop (a commit hook); never raises."""
        ...

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[AsyncIterator[Event]]:
        """Events published on `channel` from the moment the context is entered until it is left."""
        ...

    async def close(self) -> None: ...


class Subscription:
    """One subscriber's queue; it ends when the bus closes it or when it falls too far behind."""

    def __init__(self, backlog: int = SUBSCRIBER_BACKLOG) -> None:
        self._items: deque[Event] = deque()
        self._wake = asyncio.Event()
        self._backlog = backlog
        self.closed = False

    def deliver(self, event: Event) -> None:
        if self.closed:
            return
        if len(self._items) >= self._backlog:
            log.warning("events.subscriber_overflow")
            self.close()
            return
        self._items.append(event)
        self._wake.set()

    def close(self) -> None:
        self.closed = True
        self._wake.set()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event:
        while True:
            if self._items:
                return self._items.popleft()
            if self.closed:
                raise StopAsyncIteration
            self._wake.clear()
            await self._wake.wait()


class _Hub:
    """Local fan-out: channel -> the subscriptions of this process."""

    def __init__(self) -> None:
        self.channels: dict[str, set[Subscription]] = {}

    def add(self, channel: str, sub: Subscription) -> bool:
        """True when this is the channel's first local subscriber."""
        subs = self.channels.setdefault(channel, set())
        subs.add(sub)
        return len(subs) == 1

    def remove(self, channel: str, sub: Subscription) -> bool:
        """True when the channel has no local subscriber left."""
        subs = self.channels.get(channel)
        if subs is None:
            return False
        subs.discard(sub)
        if subs:
            return False
        del self.channels[channel]
        return True

    def dispatch(self, channel: str, event: Event) -> None:
        for sub in list(self.channels.get(channel, ())):
            sub.deliver(event)

    def close_all(self) -> None:
        for subs in self.channels.values():
            for sub in subs:
                sub.close()


class InProcessEventBus:
    """Subscribers in this process only: the single-process default."""

    def __init__(self) -> None:
        self._hub = _Hub()

    async def publish(self, channel: str, event: Event) -> None:
        self._hub.dispatch(channel, event)

    def publish_nowait(self, channel: str, event: Event) -> None:
        self._hub.dispatch(channel, event)

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[Event]]:
        sub = Subscription()
        self._hub.add(channel, sub)
        try:
            yield sub
        finally:
            self._hub.remove(channel, sub)

    async def close(self) -> None:
        self._hub.close_all()


class RedisEventBus:
    """Redis pub/sub shared by every process. One pub/sub connection per process, fanned out locally, and one
    publisher task, so events of this process reach Redis in the order they were published.

    While Redis is unreachable the bus degrades to this process only, with one logged warning: subscribers
    end (their clients reconnect and replay from the database), new ones listen locally, and events reach
    the subscribers of this process. When Redis answers again, the local subscribers end once more, so their
    clients reconnect through Redis and replay what other processes published meanwhile."""

    def __init__(self, redis: Redis, prefix: str = REDIS_PREFIX) -> None:
        self._redis = redis
        self._prefix = prefix
        self._hub = _Hub()
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._publisher: asyncio.Task[None] | None = None
        self._outbox: asyncio.Queue[tuple[str, str]] | None = None
        self._commands = asyncio.Lock()
        # Subscribe confirmations arrive in the order the SUBSCRIBE commands were sent.
        self._confirmations: dict[str, deque[asyncio.Future[None]]] = {}
        self._ready: dict[str, asyncio.Future[None]] = {}
        self._closed = False
        self._outage = RedisOutage("events")
        self._recovery: asyncio.Task[None] | None = None

    @property
    def degraded(self) -> bool:
        return self._outage.down

    async def publish(self, channel: str, event: Event) -> None:
        self.publish_nowait(channel, event)

    def publish_nowait(self, channel: str, event: Event) -> None:
        if self._closed:
            return
        try:
            data = json.dumps(event, ensure_ascii=False, default=str)
        except (TypeError, ValueError) as exc:
            log.error("events.unencodable", channel=channel, error=str(exc))
            return
        if self._outbox is None:
            self._outbox = asyncio.Queue()
            self._publisher = asyncio.create_task(self._publish_loop(self._outbox), name="events-publisher")
        self._outbox.put_nowait((channel, data))

    async def _publish_loop(self, outbox: asyncio.Queue[tuple[str, str]]) -> None:
        while True:
            # What queued meanwhile goes in one round trip: in a burst, a PUBLISH sent alone cost ~5x the CPU
            # of one sent among ten (redis-py's command and connection handling, per call).
            batch = [await outbox.get()]
            while len(batch) < PUBLISH_BATCH and not outbox.empty():
                batch.append(outbox.get_nowait())
            try:
                if self._outage.down:
                    self._dispatch_here(batch)
                else:
                    await self._publish_batch(batch)
            except REDIS_DOWN as exc:
                self._degrade(exc)
                self._dispatch_here(batch)
            except Exception as exc:  # a lost event is recovered by the client's replay on reconnect
                log.error("events.publish_failed", channels=sorted({c for c, _ in batch}), error=str(exc))
            finally:
                for _ in batch:
                    outbox.task_done()

    async def _publish_batch(self, batch: Sequence[tuple[str, str]]) -> None:
        if len(batch) == 1:
            await self._redis.publish(self._prefix + batch[0][0], batch[0][1])
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for channel, data in batch:
                pipe.publish(self._prefix + channel, data)
            await pipe.execute()

    def _dispatch_here(self, batch: Sequence[tuple[str, str]]) -> None:
        for channel, data in batch:
            self._hub.dispatch(channel, json.loads(data))

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[Event]]:
        sub = Subscription()
        if self._hub.add(channel, sub):
            # Registered before any await, so a second subscriber arriving meanwhile waits for the same one.
            ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._ready[channel] = ready
            if self._outage.down:
                ready.set_result(None)  # this process only, until Redis is back
            else:
                self._confirmations.setdefault(channel, deque()).append(ready)
                try:
                    await self._send("subscribe", channel)
                except REDIS_DOWN as exc:
                    self._hub.remove(channel, sub)
                    self._degrade(exc)
                    if ready.done() and not ready.cancelled():
                        ready.exception()  # retrieved: this subscriber goes on locally instead
                    sub = self._listen_locally(channel)
                except Exception as exc:
                    if not ready.done():
                        ready.set_exception(exc)
        try:
            # Wait for Redis to confirm, so nothing published after this returns can be missed.
            pending = self._ready.get(channel)
            if pending is None:
                raise ConnectionError("the event bus lost its Redis connection")
            await asyncio.wait_for(asyncio.shield(pending), timeout=10)
            yield sub
        finally:
            # While Redis is down there is nothing to unsubscribe from.
            if self._hub.remove(channel, sub) and not self._outage.down:
                self._ready.pop(channel, None)
                with contextlib.suppress(Exception):
                    await asyncio.shield(self._send("unsubscribe", channel))

    async def _send(self, command: str, channel: str) -> None:
        async with self._commands:
            if self._pubsub is None:
                self._pubsub = self._redis.pubsub()
            name = self._prefix + channel
            if command == "subscribe":
                await self._pubsub.subscribe(name)
            else:
                await self._pubsub.unsubscribe(name)
            if self._reader is None or self._reader.done():
                self._reader = asyncio.create_task(self._read_loop(self._pubsub), name="events-reader")

    async def _read_loop(self, pubsub: PubSub) -> None:
        try:
            while True:
                message = await pubsub.get_message(timeout=None)
                if message is None:
                    continue
                kind = message["type"]
                channel = _text(message["channel"]).removeprefix(self._prefix)
                if kind == "message":
                    try:
                        event = json.loads(message["data"])
                    except ValueError:
                        continue
                    self._hub.dispatch(channel, event)
                elif kind == "subscribe":
                    waiting = self._confirmations.get(channel)
                    if waiting:
                        future = waiting.popleft()
                        if not future.done():
                            future.set_result(None)
        except asyncio.CancelledError:
            raise
        except REDIS_DOWN as exc:
            self._degrade(exc)
        except Exception as exc:
            # Subscribers end, so their clients reconnect and replay what they missed from the database.
            log.error("events.reader_failed", error=str(exc))
            self._fail(exc)

    def _listen_locally(self, channel: str) -> Subscription:
        sub = Subscription()
        self._hub.add(channel, sub)
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        ready.set_result(None)
        previous = self._ready.get(channel)
        if previous is not None and not previous.done():
            previous.set_result(None)  # others waiting for Redis's confirmation go on locally too
        self._ready[channel] = ready
        return sub

    def _degrade(self, exc: BaseException) -> None:
        first = not self._outage.down
        self._outage.failed(exc)
        if not first or self._closed:
            return
        # Their Redis subscriptions are gone: subscribers end, reconnect, replay, and listen locally.
        self._fail(exc if isinstance(exc, Exception) else ConnectionError(str(exc)))
        if self._recovery is None or self._recovery.done():
            self._recovery = asyncio.get_running_loop().create_task(self._recover(), name="events-recovery")

    async def _recover(self) -> None:
        while not self._closed:
            await asyncio.sleep(self._outage.retry_seconds)
            try:
                await self._redis.ping()
            except REDIS_DOWN as exc:
                self._outage.failed(exc)
                continue
            self._outage.succeeded()
            # Local-only subscribers end, so their clients reconnect through Redis and replay the gap.
            self._hub.close_all()
            self._hub = _Hub()
            self._ready.clear()
            return

    def _fail(self, exc: Exception) -> None:
        self._hub.close_all()
        self._hub = _Hub()
        for waiting in self._confirmations.values():
            for future in waiting:
                if not future.done():
                    future.set_exception(exc)
        self._confirmations.clear()
        self._ready.clear()
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            asyncio.get_running_loop().create_task(pubsub.aclose())  # type: ignore[no-untyped-call]

    async def close(self) -> None:
        self._closed = True
        if self._outbox is not None:
            # Deliver what committed requests published before the process goes.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._outbox.join(), timeout=2)
        for task in (self._publisher, self._reader, self._recovery):
            if task is not None:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        self._hub.close_all()
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()  # type: ignore[no-untyped-call]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def build_event_bus(redis: Redis | None) -> EventBus:
    return RedisEventBus(redis) if redis is not None else InProcessEventBus()


# -- publishing after the commit -----------------------------------------------------------------------

_PENDING = "answerdesk.events.after_commit"


@dataclass(frozen=True)
class _Pending:
    bus: EventBus
    channel: str
    source: EventSource
    transaction: SessionTransaction


def publish_after_commit(
    session: AsyncSession | Session, bus: EventBus, channel: str, event: EventSource
) -> None:
    """Publishes when `session` commits; a rollback drops it, so nobody sees what was rolled back.

    `event` may be a function, called at commit time, so it describes the rows as committed (ids, times).
    """
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    transaction = sync.get_nested_transaction() or sync.get_transaction() or sync.begin()
    pending: list[_Pending] | None = sync.info.get(_PENDING)
    if pending is None:
        pending = sync.info[_PENDING] = []
        sa_event.listen(sync, "after_commit", _on_commit)
        sa_event.listen(sync, "after_soft_rollback", _on_rollback)
    pending.append(_Pending(bus, channel, event, transaction))


def _on_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return
    pending: list[_Pending] = session.info[_PENDING]
    ready, pending[:] = list(pending), []
    for item in ready:
        try:
            payload = item.source() if callable(item.source) else item.source
            item.bus.publish_nowait(item.channel, payload)
        except Exception as exc:  # the data is committed; failing the commit would only hide that
            log.error("events.publish_failed", channel=item.channel, error=str(exc))


def _on_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    pending: list[_Pending] = session.info[_PENDING]
    pending[:] = [p for p in pending if not _within(p.transaction, previous_transaction)]


def _within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False
