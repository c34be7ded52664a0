"""Test fixtures: one migrated database per run (SQLite or PostgreSQL), a clean state per test, app clients.

ANSWERDESK_TEST_DATABASE=sqlite|postgres picks the database; `make test` runs the suite on both.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from answerdesk.cli import app as cli_app
from answerdesk.config import Settings, get_settings
from answerdesk.kit.db import create_engine
from answerdesk.kit.migrate import upgrade_to_head
from answerdesk.main import create_app
from answerdesk.models import Base
from answerdesk.runtime import Runtime
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.s3 import moto_server
from tests.fakes.smtp_server import SmtpServer, serve_smtp
from tests.fakes.stripe_server import FakeStripe, run_localstripe, serve_fake_stripe

TEST_DATABASE = os.environ.get("ANSWERDESK_TEST_DATABASE", "sqlite")
POSTGRES_ADMIN_URL = os.environ.get(
    "ANSWERDESK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
# Redis databases of this pass's own, so that the SQLite and PostgreSQL passes may run at once (`make test`):
# tests that flush a database flush only their pass's. REDIS_JOBS_TEST_URL belongs to the arq job tests.
_REDIS_DBS = {"sqlite": (15, 14), "postgres": (13, 12)}.get(TEST_DATABASE, (15, 14))
REDIS_TEST_URL = os.environ.get("ANSWERDESK_TEST_REDIS_URL", f"redis://127.0.0.1:6379/{_REDIS_DBS[0]}")
REDIS_JOBS_TEST_URL = os.environ.get(
    "ANSWERDESK_TEST_REDIS_JOBS_URL", f"redis://127.0.0.1:6379/{_REDIS_DBS[1]}"
)
TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"
# The ONNX export of the embedding model is made once and shared by every test (and every run here).
MODEL_CACHE = Path(os.environ.get("ANSWERDESK_TEST_MODEL_CACHE", "/tmp/answerdesk-test-models"))


def pytest_report_header() -> str:
    return f"answerdesk test database: {TEST_DATABASE}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On the PostgreSQL pass, run only the tests that touch a database; the rest ran on the SQLite pass."""
    if TEST_DATABASE != "postgres":
        return
    keep = [i for i in items if "database_url" in getattr(i, "fixturenames", ())]
    dropped = [i for i in items if "database_url" not in getattr(i, "fixturenames", ())]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh database for this test run, migrated up from empty; PostgreSQL ones are dropped after."""
    if TEST_DATABASE == "postgres":
        name = f"answerdesk_test_{uuid.uuid4().hex[:10]}"
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
        base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
        url = f"{base}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1)
        try:
            upgrade_to_head(url)
            yield url
        finally:
            asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    elif TEST_DATABASE == "sqlite":
        path = tmp_path_factory.mktemp("db") / "test.db"
        url = f"sqlite+aiosqlite:///{path}"
        upgrade_to_head(url)
        yield url
    else:
        raise pytest.UsageError(f"ANSWERDESK_TEST_DATABASE must be sqlite or postgres, not {TEST_DATABASE!r}")


def make_settings(database_url: str, data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "env": "test",
        "data_dir": data_dir,
        "database_url": database_url,
        "secret_key": TEST_SECRET,
        "redis_url": None,
        "model_cache_dir": MODEL_CACHE,
        "base_url": "http://testserver",
        # Test websites are served from 127.0.0.1; one test turns this off to check the refusal.
        "crawl_allow_private": True,
        # Learned FAQ phrasings apply at once (a test of the delay sets its own).
        "phrasing_delay_seconds": 0,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path / "data")


async def _wipe(database_url: str) -> None:
    engine = create_engine(database_url)
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    async with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            await conn.execute(sa.text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE"))
        else:
            for t in tables:
                await conn.execute(sa.text(f'DELETE FROM "{t}"'))
    await engine.dispose()


@pytest.fixture(autouse=True)
async def clean_database(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Every test that touches the database starts from empty tables."""
    if "database_url" not in request.fixturenames:
        yield
        return
    database_url: str = request.getfixturevalue("database_url")
    await _wipe(database_url)
    yield


@asynccontextmanager
async def started_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The app with its lifespan running (runtime built, jobs started), as a server would hold it."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@asynccontextmanager
async def app_client(application: FastAPI, ip: str = "203.0.113.10") -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=application, client=(ip, 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    async with started_app(settings) as application:
        yield application


@pytest.fixture
def runtime(app: FastAPI) -> Runtime:
    rt: Runtime = app.state.runtime
    return rt


@pytest.fixture
async def db(runtime: Runtime) -> AsyncIterator[AsyncSession]:
    """A session for arranging and checking data; commit what the app should see."""
    async with runtime.sessionmaker() as session:
        yield session


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(app) as c:
        yield c


@pytest.fixture
def new_client(app: FastAPI) -> object:
    """Factory for extra clients (another browser, another IP)."""
    clients: list[httpx.AsyncClient] = []

    def make(ip: str = "203.0.113.20") -> httpx.AsyncClient:
        c = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=(ip, 50001)), base_url="http://testserver"
        )
        clients.append(c)
        return c

    return make


@pytest.fixture(scope="session")
def fake_openai_server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture
def fake_openai(fake_openai_server: FakeOpenAIServer) -> FakeOpenAIServer:
    """The session's fake OpenAI-compatible server with defaults restored and no recorded requests."""
    fake_openai_server.reset()
    return fake_openai_server


LLM_MODEL = "fake/ok"


@pytest.fixture
async def llm_app(database_url: str, tmp_path: Path, fake_openai: FakeOpenAIServer) -> AsyncIterator[FastAPI]:
    """An app whose LLM is the fake OpenAI-compatible server on 127.0.0.1."""
    settings = make_settings(
        database_url,
        tmp_path / "data",
        llm_base_url=fake_openai.base_url,
        llm_api_key="test-key",
        llm_model=LLM_MODEL,
        llm_fallback_model=None,
        llm_timeout_seconds=5.0,
        llm_first_token_timeout_seconds=5.0,
    )
    async with started_app(settings) as application:
        yield application


@pytest.fixture
def llm_runtime(llm_app: FastAPI) -> Runtime:
    rt: Runtime = llm_app.state.runtime
    return rt


@pytest.fixture
async def llm_client(llm_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(llm_app) as c:
        yield c


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpServer]:
    with serve_smtp() as server:
        yield server


@pytest.fixture
def smtp(smtp_server: SmtpServer) -> SmtpServer:
    """The session's SMTP server, accepting again and with nothing received."""
    smtp_server.fake.reset()
    return smtp_server


@pytest.fixture(scope="session")
def stripe_server() -> Iterator[FakeStripe]:
    """localstripe plus the front server for Checkout and the Customer Portal, once per run."""
    with run_localstripe() as localstripe, serve_fake_stripe(FakeStripe(localstripe)) as fake:
        yield fake


@pytest.fixture
def fake_stripe(stripe_server: FakeStripe) -> FakeStripe:
    """The session's Stripe with no objects, no webhook endpoints and nothing recorded."""
    stripe_server.reset()
    return stripe_server


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's S3 server on 127.0.0.1 for the whole run; each test makes its own bucket."""
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The CLI's environment: this run's database, a data folder of the test's own, the shared model cache."""
    monkeypatch.setenv("ANSWERDESK_DATABASE_URL", database_url)
    monkeypatch.setenv("ANSWERDESK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ANSWERDESK_ENV", "test")
    monkeypatch.setenv("ANSWERDESK_MODEL_CACHE_DIR", str(MODEL_CACHE))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def run_cli(*args: str) -> tuple[int, str, str]:
    """`answerdesk ARGS…` in this process: exit code, stdout, stderr."""
    result = CliRunner().invoke(cli_app, list(args))
    return result.exit_code, result.stdout, result.stderr
