"""One JSON error shape for every error, with the right status."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import bearer, make_key, make_org


def assert_shape(r: httpx.Response, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code and body["error"]["message"]


async def test_malformed_json(client: httpx.AsyncClient, db: AsyncSession) -> None:
    key = await make_key(db, await make_org(db))
    r = await client.post(
        "/api/v1/users", content=b'{"email": ', headers={**bearer(key), "Content-Type": "application/json"}
    )
    assert_shape(r, 400, "malformed_json")


async def test_oversized_body_by_length_and_by_stream(client: httpx.AsyncClient, db: AsyncSession) -> None:
    key = await make_key(db, await make_org(db))
    big = b'{"email": "' + b"a" * 2_000_000 + b'@example.com"}'
    r = await client.post(
        "/api/v1/users", content=big, headers={**bearer(key), "Content-Type": "application/json"}
    )
    assert_shape(r, 413, "payload_too_large")

    async def chunks():  # no Content-Length: the limit applies while reading
        for _ in range(40):
            yield b"x" * 100_000

    r = await client.post(
        "/api/v1/users", content=chunks(), headers={**bearer(key), "Content-Type": "application/json"}
    )
    assert_shape(r, 413, "payload_too_large")


async def test_validation_unknown_route_method_and_auth(client: httpx.AsyncClient, db: AsyncSession) -> None:
    key = await make_key(db, await make_org(db))
    assert_shape(
        await client.post("/api/v1/users", json={"email": 5}, headers=bearer(key)), 422, "validation_error"
    )
    assert_shape(await client.get("/api/v1/nothing-here", headers=bearer(key)), 404, "not_found")
    assert_shape(await client.put("/api/v1/users", headers=bearer(key)), 405, "method_not_allowed")
    assert_shape(await client.get("/api/v1/users"), 401, "unauthorized")
    assert_shape(await client.get("/api/v1/users/not-a-uuid", headers=bearer(key)), 422, "validation_error")


async def test_request_id_is_returned(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz", headers={"X-Request-ID": "abc123"})
    assert r.headers["x-request-id"] == "abc123"
    assert len((await client.get("/healthz")).headers["x-request-id"]) == 32
