"""The deployed stack for `make test-deploy`: docker-compose.yml + deploy/compose.test.yml on this machine.

The image must already be built (`make test-deploy` builds it). PostgreSQL and Redis are this machine's
own (a database of our own, Redis database 8), S3 is moto on 127.0.0.1; every container uses host
networking, so all traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import boto3
import httpx
import pytest
import redis
from tests.fakes.s3 import moto_server

ROOT = Path(__file__).resolve().parents[1]
PROJECT = "answerdesk-deploy-test"
IMAGE = os.environ.get("ANSWERDESK_IMAGE", "answerdesk:test")
PORT_A, PORT_B, S3_PORT = 18401, 18402, 18410
URL_A, URL_B = f"http://127.0.0.1:{PORT_A}", f"http://127.0.0.1:{PORT_B}"
BUCKET = "answerdesk-deploy"
DATABASE = "answerdesk_deploy"
POSTGRES_ADMIN_URL = os.environ.get(
    "ANSWERDESK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("ANSWERDESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/8")
SERVICES = ("api", "api-b", "worker")
FIGURES = ROOT / "test-artifacts" / "deploy-figures.txt"


def wait_for(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.2) -> Any:
    """Polls `check` until it returns something truthy; fails with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
        except (httpx.HTTPError, OSError) as exc:
            last_error, result = exc, None
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last error: {last_error!r})")


@dataclass
class Stack:
    env: dict[str, str]
    s3_url: str
    figures: dict[str, str] = field(default_factory=dict)

    def compose(self, *args: str, timeout: float = 600) -> str:
        command = [
            "docker-compose", "-p", PROJECT,
            "-f", str(ROOT / "docker-compose.yml"), "-f", str(ROOT / "deploy" / "compose.test.yml"),
            *args,
        ]  # fmt: skip
        done = subprocess.run(
            command, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode != 0:
            output = f"{done.stdout}\n{done.stderr}"
            raise AssertionError(f"{' '.join(args)} failed ({done.returncode}):\n{output}")
        return done.stdout

    def cli(self, *args: str) -> str:
        """`answerdesk ARGS` in the api container. The README's `run --rm api answerdesk ...` makes a
        one-off container instead, which docker-compose 1.x refuses with host networking (it links the
        dependencies), so here the command runs in the replica that is up: same image, same settings."""
        return self.compose("exec", "-T", "api", "answerdesk", *args).strip()

    def container_ids(self, service: str) -> list[str]:
        return self.compose("ps", "-a", "-q", service).split()

    def inspect(self, service: str) -> dict[str, Any]:
        ids = self.container_ids(service)
        assert len(ids) == 1, f"expected one {service} container, found {ids}"
        state: dict[str, Any] = json.loads(docker("inspect", ids[0]))[0]
        return state

    def up(self, label: str = "first up") -> None:
        """Starts the stack and waits until both api replicas are ready; records how long that took."""
        started = time.monotonic()
        self.compose("up", "-d", *SERVICES)
        for name, url in (("api", URL_A), ("api-b", URL_B)):
            wait_for(lambda url=url: ready(url), 180, f"{name} /readyz")
            ready_at = time.time()
            since_start = ready_at - docker_time(self.inspect(name)["State"]["StartedAt"])
            self.figures[f"{label}: {name} container start to /readyz 200"] = f"{since_start:.1f} s"
        self.figures[f"{label}: compose up -d to both replicas ready"] = f"{time.monotonic() - started:.1f} s"

    def logs(self) -> str:
        try:
            return self.compose("logs", "--no-color", "--timestamps", "--tail", "300", timeout=60)
        except (AssertionError, subprocess.TimeoutExpired) as exc:
            return f"(no logs: {exc})"


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True, timeout=120).stdout


def docker_time(value: str) -> float:
    """Docker's RFC 3339 timestamps carry nanoseconds, which fromisoformat does not take."""
    head, _, rest = value.rstrip("Z").partition(".")
    return datetime.fromisoformat(f"{head}.{rest[:6] or '0'}+00:00").timestamp()


def ready(url: str) -> bool:
    return httpx.get(f"{url}/readyz", timeout=5).status_code == 200


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _fresh_state() -> None:
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
    asyncio.run(_pg_admin(f'CREATE DATABASE "{DATABASE}"'))
    redis.Redis.from_url(REDIS_URL).flushdb()


def _env(tmp: Path, s3_url: str) -> dict[str, str]:
    app_env = tmp / "answerdesk.env"
    app_env.write_text("ANSWERDESK_LOG_LEVEL=INFO\n", encoding="utf-8")
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("ANSWERDESK_")},
        "ANSWERDESK_IMAGE": IMAGE,
        "ANSWERDESK_ENV_FILE": str(app_env),
        "ANSWERDESK_DOMAIN": "127.0.0.1",
        "ANSWERDESK_SECRET_KEY": secrets.token_urlsafe(48),
        "ANSWERDESK_API_REPLICAS": "1",
        "POSTGRES_PASSWORD": "unused-here",
        "MINIO_ROOT_USER": "testing",
        "MINIO_ROOT_PASSWORD": "testing",
        "S3_BUCKET": BUCKET,
        "DEPLOY_TEST_DATABASE_URL": f"{base}/{DATABASE}",
        "DEPLOY_TEST_REDIS_URL": REDIS_URL,
        "DEPLOY_TEST_S3_URL": s3_url,
        "DEPLOY_TEST_PORT_A": str(PORT_A),
        "DEPLOY_TEST_PORT_B": str(PORT_B),
    }


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Stack]:
    try:
        docker("image", "inspect", IMAGE)
    except subprocess.CalledProcessError:
        pytest.fail(f"image {IMAGE} is missing: `make test-deploy` builds it")
    _fresh_state()
    with moto_server(port=S3_PORT) as s3_url:
        stack = Stack(_env(tmp_path_factory.mktemp("deploy"), s3_url), s3_url)
        request.config.stash[STACK] = stack
        stack.compose("down", "-v", "--remove-orphans")  # whatever a killed earlier run left
        try:
            stack.up()
            yield stack
        finally:
            stack.compose("down", "-v", "--remove-orphans", "--timeout", "20")
            FIGURES.parent.mkdir(exist_ok=True)
            FIGURES.write_text("".join(f"{k}: {v}\n" for k, v in stack.figures.items()), encoding="utf-8")
    if request.session.testsfailed == 0:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def s3(stack: Stack) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=stack.s3_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


STACK = pytest.StashKey[Stack]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A failing test's report carries the containers' logs, taken before the stack goes down."""
    report = yield
    stack = item.config.stash.get(STACK, None)
    if report.failed and stack is not None:
        report.sections.append(("docker compose logs", stack.logs()))
    return report


def pytest_terminal_summary(terminalreporter: Any) -> None:
    stack = terminalreporter.config.stash.get(STACK, None)
    if stack is not None and stack.figures:
        terminalreporter.write_sep("-", "deploy figures (noisy: a shared 2-core machine)")
        for name, value in stack.figures.items():
            terminalreporter.write_line(f"{name}: {value}")
