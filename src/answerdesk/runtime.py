"""The process-wide objects built once at start-up and shared by requests, jobs and the CLI."""

from __future__ import annotations

import asyncio
import gc
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import structlog
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from answerdesk.answers.gate import shipped_gate
from answerdesk.auth.keycache import ApiKeyCache
from answerdesk.auth.sessions import DatabaseSessionStore, RedisSessionStore, SessionStore
from answerdesk.billing.models import Plan
from answerdesk.billing.service import AnswerQuota
from answerdesk.config import Settings
from answerdesk.integrations.llm import LLMProvider, OpenAICompatibleProvider
from answerdesk.integrations.storage import ObjectStorage, build_storage
from answerdesk.integrations.stripe import BillingGateway, StripeGateway
from answerdesk.kit.db import create_engine, create_sessionmaker
from answerdesk.kit.events import EventBus, build_event_bus
from answerdesk.kit.jobs import JobQueue, build_queue
from answerdesk.kit.presence import Presence
from answerdesk.kit.ratelimit import RateLimiter
from answerdesk.kit.shared_calls import SharedCalls
from answerdesk.knowledge.embedding import Embedder, load_embedder
from answerdesk.knowledge.embedding.batching import EmbeddingBatcher
from answerdesk.knowledge.language import KnowledgeLanguages
from answerdesk.languages.detect import load_detector
from answerdesk.retrieval.service import Retriever
from answerdesk.sentiment import SentimentAnalyzer, load_analyzer
from answerdesk.tenants.models import Organization

REDIS_CONNECT_TIMEOUT = 5.0
# An organization with its plan and its knowledge base's index generation, as a chat message reads them.
OrganizationRead = tuple[Organization, Plan, int]


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    limiter: RateLimiter
    session_store: SessionStore
    redis: Redis | None = None
    secret: str = field(default="", repr=False)
    jobs: JobQueue = field(init=False, repr=False)
    storage: ObjectStorage = field(init=False, repr=False)
    retriever: Retriever = field(init=False, repr=False)
    # Live updates (messages, typing, presence): in this process, or through Redis when it is configured.
    events: EventBus = field(init=False, repr=False)
    presence: Presence = field(init=False, repr=False)
    # None without an API key: answers are then extractive (quoted passages), never invented.
    llm: LLMProvider | None = field(default=None, repr=False)
    # None without a Stripe secret key: billing is off and the operator sets plans.
    stripe: BillingGateway | None = field(default=None, repr=False)
    # Each organization's knowledge base language per index generation: questions are translated to it.
    knowledge_languages: KnowledgeLanguages = field(default_factory=KnowledgeLanguages, repr=False)
    # API keys verified in the last few seconds (ANSWERDESK_API_KEY_CACHE_SECONDS).
    api_keys: ApiKeyCache = field(init=False, repr=False)
    # AI answers counted against the plan: one per process, so concurrent answers are counted together.
    answer_quota: AnswerQuota = field(init=False, repr=False)
    # Chat messages' reads of their organization, plan and index generation: concurrent ones share a read.
    organization_reads: SharedCalls[uuid.UUID, OrganizationRead] = field(
        default_factory=SharedCalls, repr=False
    )
    _embedder_lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)
    _embedder: Embedder | None = field(default=None, repr=False)
    _query_batcher: EmbeddingBatcher | None = field(default=None, repr=False)

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(settings.database_url)
        maker = create_sessionmaker(engine)
        # A Redis that is down or unroutable fails a call within seconds (then the bus and limits degrade)
        # instead of hanging it; idle pooled connections are checked before reuse.
        redis = (
            Redis.from_url(
                settings.redis_url, socket_connect_timeout=REDIS_CONNECT_TIMEOUT, health_check_interval=30
            )
            if settings.redis_url
            else None
        )
        store: SessionStore = RedisSessionStore(redis) if redis else DatabaseSessionStore(maker)
        runtime = cls(
            settings=settings,
            engine=engine,
            sessionmaker=maker,
            limiter=RateLimiter(settings.redis_url),
            session_store=store,
            redis=redis,
            secret=settings.secret(),
        )
        runtime.jobs = build_queue(
            runtime,
            redis_url=settings.redis_url,
            concurrency=settings.job_concurrency,
            timeout_seconds=settings.job_timeout_seconds,
            shutdown_seconds=settings.job_shutdown_seconds,
        )
        runtime.storage = build_storage(
            settings.storage_backend,
            local_root=settings.data_dir / "files",
            s3_bucket=settings.s3_bucket,
            s3_endpoint_url=settings.s3_endpoint_url,
            s3_region=settings.s3_region,
            s3_access_key_id=settings.s3_access_key_id,
            s3_secret_access_key=settings.s3_secret_access_key.get_secret_value()
            if settings.s3_secret_access_key
            else None,
            s3_prefix=settings.s3_prefix,
            s3_addressing_style=settings.s3_addressing_style,
            s3_server_side_encryption=settings.s3_sse,
            s3_sse_kms_key_id=settings.s3_sse_kms_key_id,
        )
        runtime.retriever = Retriever(
            settings.data_dir / "indexes",
            runtime.embedder,
            hnsw_threshold=settings.hnsw_threshold,
            cache_bytes=settings.index_cache_mb * 1024 * 1024 or None,
        )
        runtime.api_keys = ApiKeyCache(settings.api_key_cache_seconds)
        runtime.answer_quota = AnswerQuota(maker, settings, runtime.jobs)
        runtime.llm = build_llm(settings)
        runtime.stripe = build_stripe(settings)
        runtime.events = build_event_bus(redis)
        runtime.presence = Presence(redis)
        return runtime

    async def embedder(self) -> Embedder:
        """The embedding model, loaded once per process on first use (the first start exports ONNX)."""
        if self._embedder is not None:  # every chat message asks: no lock, no thread hop once loaded
            return self._embedder
        async with self._embedder_lock:
            kind, cache = (
                self.settings.embedder,
                self.settings.model_cache_dir or self.settings.data_dir / "models",
            )
            self._embedder = await asyncio.to_thread(_shared_embedder, kind, cache)
            return self._embedder

    async def query_embeddings(self) -> EmbeddingBatcher:
        """Single texts embedded for concurrent requests (chat messages), batched under load."""
        if self._query_batcher is None:
            self._query_batcher = EmbeddingBatcher((await self.embedder()).embed)
        return self._query_batcher

    async def sentiment(self) -> SentimentAnalyzer:
        """The sentiment classifier over the same embedding model, loaded once per process."""
        await self.embedder()
        kind, cache = (
            self.settings.embedder,
            self.settings.model_cache_dir or self.settings.data_dir / "models",
        )
        return _shared_analyzer(kind, cache)

    async def warm_up(self) -> None:
        """Loads every model a chat message needs, then freezes the heap built so far.

        Otherwise the first messages wait for the models, and each full garbage collection walks the
        hundreds of thousands of objects that importing and loading them left behind: ~0.1 s of CPU every
        few hundred messages, during which no reply moves.
        """
        embedder = await self.embedder()
        await asyncio.to_thread(embedder.embed_query, "warm up")
        await self.query_embeddings()
        await self.sentiment()
        await asyncio.to_thread(load_detector)
        shipped_gate()
        gc.collect()
        gc.freeze()

    async def close(self) -> None:
        await self.jobs.close()  # running jobs still need the engine and Redis
        if isinstance(self.llm, OpenAICompatibleProvider):
            await self.llm.aclose()
        await self.storage.close()
        if self.stripe is not None:
            await self.stripe.aclose()
        await self.events.close()
        if self.redis is not None:
            await self.redis.aclose()
        await self.engine.dispose()


@lru_cache(maxsize=2)
def _shared_embedder(kind: str, cache_dir: Path) -> Embedder:
    # One model per process, shared by every Runtime (tests build many) and every request.
    return load_embedder(kind, cache_dir)  # type: ignore[arg-type]


@lru_cache(maxsize=2)
def _shared_analyzer(kind: str, cache_dir: Path) -> SentimentAnalyzer:
    return load_analyzer(_shared_embedder(kind, cache_dir).embed)


def build_llm(settings: Settings) -> OpenAICompatibleProvider | None:
    if settings.llm_api_key is None or not settings.llm_api_key.get_secret_value():
        return None
    return OpenAICompatibleProvider(
        api_key=settings.llm_api_key.get_secret_value(),
        base_url=settings.llm_base_url,
        app_url=settings.base_url,
        timeout=settings.llm_timeout_seconds,
        first_token_timeout=settings.llm_first_token_timeout_seconds,
    )


def build_stripe(settings: Settings) -> StripeGateway | None:
    if not settings.billing_enabled or settings.stripe_secret_key is None:
        return None
    if settings.stripe_webhook_secret is None or not settings.stripe_webhook_secret.get_secret_value():
        # Checkout would take payments whose subscriptions never reach the organization's plan.
        structlog.get_logger(__name__).warning(
            "billing.webhook_secret_missing",
            hint="set ANSWERDESK_STRIPE_WEBHOOK_SECRET: without it Stripe's events are refused",
        )
    return StripeGateway(settings.stripe_secret_key.get_secret_value(), api_base=settings.stripe_api_base)
