"""The Docker Compose stack, through the built image: one migrate, two api replicas, one worker.

The tests run in order and share one stack (and the organization made by the first), as an operator's
deploy would: documents and chats made early are checked again after the stack went down and up.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from tests.factories import page_csrf
from websockets.asyncio.client import connect

from tests_deploy.conftest import BUCKET, URL_A, URL_B, Stack, docker, docker_time, wait_for

API = "/api/v1"
ORIGIN = "https://shop.example.com"
ADMIN_EMAIL, ADMIN_PASSWORD = "ops@deploy.example.com", "deploy-test-password-1"
NEEDLE = "The flux capacitor reset code is ZX-4471: hold the red button for twelve seconds."


@dataclass
class Tenant:
    secret_key: str
    public_key: str

    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret_key}"}

    def customer(self, token: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.public_key}", "Origin": ORIGIN}
        return headers | ({"X-Conversation-Token": token} if token else {})


@pytest.fixture(scope="module")
def tenant(stack: Stack) -> Tenant:
    """The first organization and admin, made with the operator commands the README gives."""
    assert stack.cli("org", "create", "Deploy Test", "--slug", "deploy") == "deploy"
    created = stack.cli(
        "user", "create", "--org", "deploy", "--email", ADMIN_EMAIL, "--role", "admin",
        "--password", ADMIN_PASSWORD, "--name", "Anna",
    )  # fmt: skip
    assert created == f"created {ADMIN_EMAIL} (admin) in deploy"
    secret = stack.cli("apikey", "create", "--org", "deploy", "--kind", "secret", "--name", "deploy-test")
    public = stack.cli("apikey", "create", "--org", "deploy", "--kind", "public", "--origin", ORIGIN)
    return Tenant(secret.splitlines()[-1], public.splitlines()[-1])


@pytest.fixture
def a() -> Iterator[httpx.Client]:
    with httpx.Client(base_url=URL_A, timeout=30) as client:
        yield client


@pytest.fixture
def b() -> Iterator[httpx.Client]:
    with httpx.Client(base_url=URL_B, timeout=30) as client:
        yield client


def upload(client: httpx.Client, tenant: Tenant, name: str, text: str) -> str:
    response = client.post(
        f"{API}/knowledge/documents",
        headers=tenant.bearer(),
        files={"file": (name, text.encode(), "text/markdown")},
        data={"title": name},
    )
    assert response.status_code == 202, response.text
    doc_id: str = response.json()["id"]
    return doc_id


def document(client: httpx.Client, tenant: Tenant, doc_id: str) -> dict[str, Any]:
    response = client.get(f"{API}/knowledge/documents/{doc_id}", headers=tenant.bearer())
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def wait_ready(client: httpx.Client, tenant: Tenant, doc_id: str, timeout: float = 180) -> dict[str, Any]:
    seen: list[dict[str, Any]] = []

    def check() -> dict[str, Any] | None:
        doc = document(client, tenant, doc_id)
        assert doc["status"] != "failed", doc
        seen[:] = [doc]
        return doc if doc["status"] == "ready" else None

    try:
        result: dict[str, Any] = wait_for(check, timeout, f"document {doc_id} to be ready", interval=0.5)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last seen: {seen}") from None
    return result


def search(client: httpx.Client, tenant: Tenant, query: str) -> list[dict[str, Any]]:
    response = client.post(f"{API}/knowledge/search", headers=tenant.bearer(), json={"query": query, "k": 3})
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["results"]
    return results


def test_migrate_runs_once_before_the_app(stack: Stack) -> None:
    migrate = stack.inspect("migrate")
    assert migrate["State"]["Status"] == "exited" and migrate["State"]["ExitCode"] == 0
    assert migrate["RestartCount"] == 0
    finished = docker_time(migrate["State"]["FinishedAt"])
    for service in ("api", "api-b", "worker"):
        assert docker_time(stack.inspect(service)["State"]["StartedAt"]) >= finished, service
    assert "database is at the latest migration" in stack.compose("logs", "--no-color", "migrate")


def test_two_api_replicas_and_a_worker_run_from_the_image(stack: Stack) -> None:
    for service in ("api", "api-b", "worker"):
        state = stack.inspect(service)
        assert state["State"]["Running"], service
        assert state["Config"]["Image"] == stack.env["ANSWERDESK_IMAGE"]
        assert state["HostConfig"]["NetworkMode"] == "host"
        assert state["Config"]["User"] == "answerdesk"
    # The image's HEALTHCHECK (GET /readyz) marks both replicas healthy.
    for service in ("api", "api-b"):
        health = lambda s=service: stack.inspect(s)["State"]["Health"]["Status"] == "healthy"  # noqa: E731
        wait_for(health, 90, f"{service} healthy")


def test_upload_on_a_is_ingested_by_the_worker_and_found_on_b(
    stack: Stack, tenant: Tenant, a: httpx.Client, b: httpx.Client, s3: Any
) -> None:
    text = f"# Time travel\n\n## Resetting\n\n{NEEDLE}\n\nUnplug the device first and wait a minute.\n"
    doc_id = upload(a, tenant, "time-travel.md", text)
    doc = wait_ready(b, tenant, doc_id)
    assert doc["chunk_count"] >= 1
    results = search(b, tenant, "flux capacitor reset code")
    assert results and results[0]["document_id"] == doc_id
    assert "ZX-4471" in results[0]["text"]
    # The original went to the S3 store, not to a replica's disk.
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) >= 1


def _staff_login(client: httpx.Client) -> str:
    form = client.get("/login")
    logged = client.post(
        "/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "csrf_token": page_csrf(form.text)}
    )
    assert logged.status_code == 303, logged.text
    return page_csrf(client.get("/admin/account").text)


async def _sse(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    block = ""
    async for chunk in response.aiter_text():
        block += chunk
        while "\n\n" in block:
            event, block = block.split("\n\n", 1)
            data = [line.removeprefix("data: ") for line in event.splitlines() if line.startswith("data: ")]
            if data:
                yield json.loads(data[0])


def _is_message(event: dict[str, Any], content: str) -> bool:
    return event["type"] == "message" and event["message"]["content"] == content


async def test_customer_on_a_and_staff_on_b_see_each_other_live(stack: Stack, tenant: Tenant) -> None:
    async with (
        httpx.AsyncClient(base_url=URL_A, timeout=30) as customer,
        httpx.AsyncClient(base_url=URL_B, timeout=30) as staff,
    ):
        started = await customer.post(f"{API}/conversations", headers=tenant.customer())
        assert started.status_code == 201, started.text
        cid, token = started.json()["id"], started.json()["token"]
        form = await staff.get("/login")
        logged = await staff.post(
            "/login",
            data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "csrf_token": page_csrf(form.text)},
        )
        assert logged.status_code == 303, logged.text
        csrf = page_csrf((await staff.get("/admin/account")).text)

        async with staff.stream("GET", "/admin/live/events") as staff_stream:
            assert staff_stream.status_code == 200
            staff_events = _sse(staff_stream)
            chat = f"{API}/conversations/{cid}"
            handoff = await customer.post(f"{chat}/handoff", headers=tenant.customer(token))
            assert handoff.status_code == 200 and handoff.json()["staff_online"] is True
            taken = await staff.post(f"{chat}/takeover", headers={"X-CSRF-Token": csrf})
            assert taken.status_code == 200, taken.text

            ws_url = f"{URL_A.replace('http', 'ws')}{chat}/live?key={tenant.public_key}&token={token}"
            async with connect(ws_url, origin=ORIGIN) as ws:  # type: ignore[arg-type]
                while json.loads(await asyncio.wait_for(ws.recv(), 15))["type"] != "status":
                    pass  # the replay up to now ends with the status

                # Customer on A → staff on B.
                posted = await customer.post(
                    f"{chat}/messages",
                    headers=tenant.customer(token),
                    json={"content": "Hello from replica A"},
                )
                assert posted.status_code == 200 and posted.json()["message"] is None  # the bot stays quiet
                async with asyncio.timeout(15):
                    async for event in staff_events:
                        if _is_message(event, "Hello from replica A"):
                            break

                # Staff on B → customer on A.
                replied = await staff.post(
                    f"{chat}/replies",
                    headers={"X-CSRF-Token": csrf},
                    json={"content": "Hello from replica B"},
                )
                assert replied.status_code == 201, replied.text
                async with asyncio.timeout(15):
                    while True:
                        event = json.loads(await ws.recv())
                        if _is_message(event, "Hello from replica B"):
                            break


def _long_document(paragraphs: int) -> str:
    """Distinct paragraphs (ingestion drops duplicates), enough to keep the worker busy for a while."""
    rng = random.Random(7)
    words = [
        "router", "invoice", "domain", "backup", "mailbox", "certificate", "firewall", "database",
        "renewal", "migration", "bandwidth", "ticket", "nameserver", "quota", "snapshot", "license",
    ]  # fmt: skip
    parts = ["# Operations handbook\n"]
    for n in range(paragraphs):
        if n % 20 == 0:
            parts.append(f"\n## Section {n // 20}\n")
        sentence = " ".join(rng.choice(words) for _ in range(60))
        parts.append(f"\nParagraph {n}: {sentence}.\n")
    parts.append(f"\n## Last words\n\nThe closing passphrase of this handbook is QUOKKA-{paragraphs}.\n")
    return "".join(parts)


def test_a_worker_killed_mid_ingestion_leaves_the_document_ready(
    stack: Stack, tenant: Tenant, a: httpx.Client, b: httpx.Client
) -> None:
    paragraphs = 800
    doc_id = upload(a, tenant, "handbook.md", _long_document(paragraphs))
    # Progress passes 20 once the text is extracted and chunked: the worker is then embedding.
    embedding = lambda: (d := document(b, tenant, doc_id))["status"] == "processing" and d["progress"] > 20  # noqa: E731
    wait_for(embedding, 120, "the worker to be embedding the document", 0.1)
    worker = stack.container_ids("worker")[0]
    docker("kill", worker)
    killed = document(b, tenant, doc_id)
    assert killed["status"] == "processing", f"ingestion finished before the kill: {killed}"

    restarted = time.monotonic()
    stack.compose("up", "-d", "worker")
    doc = wait_ready(b, tenant, doc_id, timeout=420)
    stack.figures["killed worker restarted to document ready"] = f"{time.monotonic() - restarted:.1f} s"
    assert doc["chunk_count"] > 10
    results = search(a, tenant, f"closing passphrase QUOKKA-{paragraphs}")
    assert results and results[0]["document_id"] == doc_id


def _snapshot(client: httpx.Client, tenant: Tenant, s3: Any) -> dict[str, Any]:
    docs = client.get(f"{API}/knowledge/documents", headers=tenant.bearer())
    assert docs.status_code == 200, docs.text
    body = docs.json()
    items = body["items"] if isinstance(body, dict) else body
    objects = s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return {
        "documents": sorted((d["id"], d["status"], d["chunk_count"]) for d in items),
        "files": sorted((o["Key"], o["Size"]) for o in objects),
    }


def test_down_then_up_keeps_every_row_and_file(
    stack: Stack, tenant: Tenant, a: httpx.Client, b: httpx.Client, s3: Any
) -> None:
    before = _snapshot(a, tenant, s3)
    assert len(before["documents"]) == 2 and len(before["files"]) == 2
    stack.compose("down", "--timeout", "20")
    assert stack.compose("ps", "-a", "-q").split() == []
    stack.up("after down")
    assert stack.inspect("migrate")["State"]["ExitCode"] == 0
    assert _snapshot(a, tenant, s3) == before == _snapshot(b, tenant, s3)
    # New containers start with empty index folders and rebuild them from the database.
    results = search(b, tenant, "flux capacitor reset code")
    assert results and "ZX-4471" in results[0]["text"]
    # And the admin's login still works on both replicas.
    for url in (URL_A, URL_B):
        with httpx.Client(base_url=url, timeout=30) as client:
            _staff_login(client)
