"""Application settings: the only place that reads the environment."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from limits import parse as parse_rate_limit
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values people paste from examples; refused outside development.
PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "changethis", "secret", "placeholder"})


class Settings(BaseSettings):
    """Every setting of Answerdesk; env vars are ``ANSWERDESK_<NAME>``."""

    model_config = SettingsConfigDict(
        env_prefix="ANSWERDESK_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    env: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("./var")
    database_url: str = Field(default="", description="Default: SQLite file in DATA_DIR")
    secret_key: SecretStr | None = None
    redis_url: str | None = None
    base_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000
    # `answerdesk serve` processes; more than one needs REDIS_URL (events, limits, sessions, jobs are shared).
    workers: int = Field(default=1, ge=1)
    # Addresses of reverse proxies whose X-Forwarded-For/-Proto are believed (comma-separated, or "*").
    # Unset: headers are ignored, so a client cannot forge its address past the per-IP rate limits.
    forwarded_allow_ips: str | None = None
    log_level: str = "INFO"
    log_json: bool = False

    session_idle_minutes: int = Field(default=60, ge=1)
    session_max_hours: int = Field(default=12, ge=1)
    login_max_failures: int = Field(default=5, ge=1)
    login_window_minutes: int = Field(default=15, ge=1)
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    max_upload_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)

    # Object storage for uploaded originals.
    storage_backend: Literal["local", "s3"] = "local"
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_prefix: str = ""
    s3_addressing_style: Literal["auto", "path", "virtual"] = "auto"
    # Server-side encryption asked for on every upload ("none" for S3-compatible services without SSE).
    s3_sse: Literal["AES256", "aws:kms", "none"] = "AES256"
    s3_sse_kms_key_id: str | None = None

    # Privacy: how long an organization's full export stays downloadable before it is deleted.
    privacy_export_expiry_hours: int = Field(default=48, ge=1)

    # Knowledge base: embeddings, chunking, index.
    embedder: Literal["onnx", "torch"] = "onnx"
    model_cache_dir: Path | None = Field(default=None, description="Default: DATA_DIR/models")
    chunk_target_tokens: int = Field(default=200, ge=50)
    chunk_max_tokens: int = Field(default=240, ge=60)
    chunk_overlap_tokens: int = Field(default=40, ge=0)
    hnsw_threshold: int = Field(default=20_000, ge=1)
    # Memory for organizations' search indexes in each process; least recently used ones are dropped past
    # it and reloaded from their saved files at their next search (bench/index_cache.py). 0 = no limit.
    index_cache_mb: int = Field(default=512, ge=0)
    # Phrasings learned from answers rated helpful reach their FAQ at most this late: one re-ingestion of the
    # FAQ's document takes every one learned meanwhile (a popular entry of a large FAQ file is rated often).
    phrasing_delay_seconds: float = Field(default=30.0, ge=0)
    crawl_max_pages: int = Field(default=50, ge=1)
    crawl_timeout_seconds: float = Field(default=10.0, gt=0)
    # Off: URL imports may not reach private, loopback or link-local addresses (the server's own network).
    crawl_allow_private: bool = False
    job_concurrency: int = Field(default=2, ge=1)
    job_timeout_seconds: float = Field(default=1800.0, gt=0)
    job_shutdown_seconds: float = Field(default=10.0, ge=0)

    # LLM (OpenAI-compatible; OpenRouter by default). No key = extractive answers.
    llm_base_url: str = "https://openrouter.ai/api/v1"
    llm_api_key: SecretStr | None = None
    llm_model: str = "mistralai/mistral-small-3.1-24b-instruct"
    llm_fallback_model: str | None = "openai/gpt-4o-mini"
    llm_timeout_seconds: float = Field(default=30.0, gt=0)
    llm_first_token_timeout_seconds: float = Field(default=15.0, gt=0)

    # Chat.
    max_message_chars: int = Field(default=4000, ge=1)
    # Live chat: rate limits on the public chat endpoints ("N/second|minute|hour"), per client IP and per key.
    chat_start_limit_per_ip: str = "10/minute"
    chat_message_limit_per_ip: str = "20/minute"
    chat_signal_limit_per_ip: str = "120/minute"  # typing, seen and live connections
    chat_limit_per_key: str = "600/minute"
    live_heartbeat_seconds: float = Field(default=15.0, gt=0)
    # Staff count as online (for "a member of our team will join shortly") this long after their last sign.
    staff_online_seconds: float = Field(default=60.0, gt=0)
    # GET /chat/stats is asked on every widget open: its figures are kept this long per organization.
    chat_stats_cache_seconds: float = Field(default=30.0, ge=0)
    # API keys verified by a request are trusted this long per process without a query (auth/keycache.py):
    # a key revoked or an organization suspended on another process stops working within this time.
    api_key_cache_seconds: float = Field(default=5.0, ge=0, le=60)
    # Ticket drafts: how many staff-approved past replies to similar questions the model sees as examples.
    ticket_reply_examples: int = Field(default=3, ge=0, le=10)

    # Outgoing e-mail (replies to native tickets). No host = replies stay in Answerdesk only.
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    smtp_from: str | None = Field(default=None, description="Default: the SMTP username")
    smtp_timeout_seconds: float = Field(default=20.0, gt=0)

    # SaaS: self-service sign-up at /signup and the landing page at / ("closed": / is the login, as before;
    # "invite": only with a code an operator made in the operator console; "open": anyone).
    signup: Literal["closed", "invite", "open"] = "closed"
    signup_limit_per_ip: str = "5/hour"  # sign-up attempts per client IP
    signup_verify_hours: int = Field(default=48, ge=1)  # how long an e-mail confirmation link works
    signup_invite_days: int = Field(default=14, ge=1)  # default validity of a new invitation code

    # Plans and quotas (billing/). Organizations without a plan of their own follow DEFAULT_PLAN (unlimited
    # "enterprise" by default: a self-hosted instance is never limited by surprise); organizations made by
    # public sign-up get SIGNUP_PLAN. Both are plan slugs (`answerdesk plan list`).
    default_plan: str = "enterprise"
    signup_plan: str = "free"
    # Share of the monthly AI answers at which admins see a banner and get one e-mail per period.
    usage_warning_ratio: float = Field(default=0.8, gt=0, le=1)

    # Observability. A token makes /metrics require "Authorization: Bearer <token>"; a DSN turns on Sentry.
    metrics_token: SecretStr | None = None
    sentry_dsn: SecretStr | None = None
    sentry_traces_sample_rate: float = Field(default=0.0, ge=0, le=1)
    # Several worker processes: prometheus_client keeps their values here (it reads this variable itself).
    prometheus_multiproc_dir: Path | None = Field(default=None, validation_alias="PROMETHEUS_MULTIPROC_DIR")

    # Stripe billing (SaaS). No secret key: billing is off and the operator sets each organization's plan.
    stripe_secret_key: SecretStr | None = None
    # The endpoint's signing secret (whsec_…); POST /webhooks/stripe refuses everything without it.
    stripe_webhook_secret: SecretStr | None = None
    # Where the SDK sends API calls; only tests change it (localstripe on 127.0.0.1).
    stripe_api_base: str | None = None
    # Days a past-due subscription keeps its plan before the organization falls back to the Free plan.
    billing_grace_days: int = Field(default=7, ge=0)

    @field_validator(
        "chat_start_limit_per_ip",
        "chat_message_limit_per_ip",
        "chat_signal_limit_per_ip",
        "chat_limit_per_key",
        "signup_limit_per_ip",
    )
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        try:
            parse_rate_limit(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a rate limit like '20/minute'") from None
        return value

    @model_validator(mode="after")
    def _resolve(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{self.data_dir / 'answerdesk.db'}"
        self.database_url = normalise_database_url(self.database_url)
        if self.redis_url == "":
            self.redis_url = None
        if self.stripe_api_base == "":
            self.stripe_api_base = None
        if self.model_cache_dir is None:
            self.model_cache_dir = self.data_dir / "models"
        if self.storage_backend == "s3" and not self.s3_bucket:
            raise ValueError("ANSWERDESK_S3_BUCKET is required when ANSWERDESK_STORAGE_BACKEND=s3")
        secret = self.secret_key.get_secret_value() if self.secret_key is not None else None
        if self.env != "development" and secret is not None and secret.strip().lower() in PLACEHOLDER_SECRETS:
            raise ValueError(
                "ANSWERDESK_SECRET_KEY is a placeholder; set a long random value "
                "(or unset it to have one generated in DATA_DIR)"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def billing_enabled(self) -> bool:
        """Stripe billing is on: a secret key is set."""
        return self.stripe_secret_key is not None and bool(self.stripe_secret_key.get_secret_value())

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

    def secret(self) -> str:
        """The secret key: from the environment, else generated once and kept in DATA_DIR."""
        if self.secret_key is not None and self.secret_key.get_secret_value():
            return self.secret_key.get_secret_value()
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(48)
        path.write_text(value)
        path.chmod(0o600)
        return value


def normalise_database_url(url: str) -> str:
    """Accept plain driver-less URLs and pick the async driver we ship."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        return "postgresql+asyncpg://" + url[len("postgresql://") :]
    if url.startswith("sqlite://") and not url.startswith("sqlite+"):
        return "sqlite+aiosqlite://" + url[len("sqlite://") :]
    return url


@lru_cache
def get_settings() -> Settings:
    return Settings()
