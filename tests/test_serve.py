"""`answerdesk serve --workers N`: several processes on one port, live events shared through Redis."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import psutil
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from answerdesk.auth.models import ApiKeyKind, AuditLog
from answerdesk.auth.service import ApiKeyService
from answerdesk.cli import app
from answerdesk.config import get_settings
from answerdesk.kit.db import session_scope
from answerdesk.runtime import Runtime
from answerdesk.tenants.service import OrganizationService
from tests.conftest import MODEL_CACHE, REDIS_TEST_URL, TEST_SECRET, make_settings
from tests.live import free_port, wait_until_healthy


def test_several_workers_without_redis_are_refused(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANSWERDESK_DATABASE_URL", database_url)
    monkeypatch.setenv("ANSWERDESK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ANSWERDESK_REDIS_URL", "")
    monkeypatch.setenv("ANSWERDESK_WORKERS", "3")  # the setting is the default for --workers
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["serve", "--port", str(free_port())])
    finally:
        get_settings.cache_clear()

    assert result.exit_code == 1
    assert "--workers 3 needs ANSWERDESK_REDIS_URL" in result.stderr


@contextmanager
def serve_workers(
    database_url: str, data_dir: Path, workers: int, **settings: str
) -> Iterator[tuple[int, psutil.Process]]:
    """`answerdesk serve --workers N` in a subprocess; yields its port and process."""
    port = free_port()
    env = {
        **os.environ,
        "ANSWERDESK_ENV": "test",
        "ANSWERDESK_DATABASE_URL": database_url,
        "ANSWERDESK_DATA_DIR": str(data_dir),
        "ANSWERDESK_SECRET_KEY": TEST_SECRET,
        "ANSWERDESK_REDIS_URL": REDIS_TEST_URL,
        "ANSWERDESK_MODEL_CACHE_DIR": str(MODEL_CACHE),
        "ANSWERDESK_LOG_LEVEL": "WARNING",
        **{f"ANSWERDESK_{name.upper()}": value for name, value in settings.items()},
    }
    command = [
        sys.executable,
        "-m",
        "answerdesk.cli",
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}", proc)
        yield port, psutil.Process(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        assert proc.stderr is not None
        stderr = proc.stderr.read().decode(errors="replace")
        assert "Traceback" not in stderr, stderr


def owner(server: psutil.Process, sock: socket.socket) -> int | None:
    """The pid of the server process holding the other end of our connection."""
    client_port = sock.getsockname()[1]
    for process in [server, *server.children(recursive=True)]:
        for conn in process.net_connections(kind="tcp"):
            if conn.raddr and conn.raddr.port == client_port:
                return process.pid
    return None


def request(sock: socket.socket, method: str, path: str, key: str) -> None:
    sock.sendall(
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
        "Content-Length: 0\r\n\r\n".encode()
    )


def read_until(sock: socket.socket, marker: bytes, timeout: float = 20.0) -> bytes:
    received = b""
    deadline = time.monotonic() + timeout
    while marker not in received:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data = sock.recv(65536)
        except TimeoutError:
            data = b""
        if not data and time.monotonic() > deadline:
            raise AssertionError(f"no {marker!r} within {timeout}s; got {received[-300:]!r}")
        received += data
    return received


def connections_to_each_worker(
    port: int, server: psutil.Process, workers: int, stack: ExitStack, key: str
) -> dict[int, socket.socket]:
    """Opens connections (each answering a request) until every worker holds one: {pid: socket}."""
    held: dict[int, socket.socket] = {}
    deadline = time.monotonic() + 60
    while len(held) < workers:
        assert time.monotonic() < deadline, f"only workers {sorted(held)} accepted connections"
        sock = stack.enter_context(socket.create_connection(("127.0.0.1", port)))
        request(sock, "GET", "/api/v1/ai-settings", key)
        read_until(sock, b"\r\n\r\n")
        pid = owner(server, sock)
        assert pid is not None and pid != server.pid, "the supervisor itself answered"
        held.setdefault(pid, sock)
    return held


async def test_two_workers_both_answer_and_share_live_events(database_url: str, tmp_path: Path) -> None:
    runtime = Runtime.build(make_settings(database_url, tmp_path / "setup"))
    try:
        async with session_scope(runtime.sessionmaker) as db:
            org = await OrganizationService(db).create("Two Workers Ltd")
            _, key = await ApiKeyService(db).create(org.id, kind=ApiKeyKind.secret, name="test")
    finally:
        await runtime.close()

    with serve_workers(database_url, tmp_path / "data", 2) as (port, server), ExitStack() as stack:
        held = connections_to_each_worker(port, server, 2, stack, key)
        first, second = held.values()  # two worker processes, each answered a request

        conversation = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/conversations",
            json={},
            headers={"Authorization": f"Bearer {key}"},
        ).json()["id"]
        uuid.UUID(conversation)
        # A live stream held by one worker; its initial status event means it is subscribed.
        request(first, "GET", f"/api/v1/conversations/{conversation}/events", key)
        read_until(first, b'"status": "bot"')
        # The customer closes the chat through the other worker: the event reaches the stream over Redis.
        request(second, "POST", f"/api/v1/conversations/{conversation}/close", key)
        assert b" 200 OK" in read_until(second, b"\r\n\r\n")
        read_until(first, b'"status": "closed"')


@pytest.mark.parametrize(("trusted", "seen_as"), [(None, "127.0.0.1"), ("127.0.0.1", "203.0.113.9")])
async def test_the_client_address_comes_from_a_trusted_proxy_only(
    database_url: str, tmp_path: Path, trusted: str | None, seen_as: str
) -> None:
    proxy = {"forwarded_allow_ips": trusted} if trusted else {}
    with serve_workers(database_url, tmp_path / "data", 1, **proxy) as (port, _):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            page = await client.get("/login")
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert token, (page.status_code, re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.text))[-400:])
            email = f"nobody-{uuid.uuid4().hex[:8]}@example.com"
            response = await client.post(
                "/login",
                data={"email": email, "password": "wrong password", "csrf_token": token.group(1)},
                headers={"X-Forwarded-For": "203.0.113.9"},
            )
            assert response.status_code in (401, 200), response.text[:300]
    # The failed login is audited with the address the server believed.
    runtime = Runtime.build(make_settings(database_url, tmp_path / "other"))
    try:
        async with runtime.sessionmaker() as db:
            ip = await db.scalar(sa.select(AuditLog.ip).where(AuditLog.target == email))
    finally:
        await runtime.close()
    assert ip == seen_as
