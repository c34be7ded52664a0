"""API keys: shown once, stored hashed, scopes, public keys bound to origins, revoke at once."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import ApiKey, ApiKeyKind, AuditLog
from answerdesk.kit.db import utcnow
from answerdesk.kit.security import hash_token
from answerdesk.runtime import Runtime
from tests.conftest import app_client, make_settings, started_app
from tests.factories import bearer, make_key, make_org


async def test_secret_key_is_shown_once_and_stored_hashed(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    org = await make_org(db)
    admin_key = await make_key(db, org)
    created = await client.post(
        "/api/v1/api-keys", json={"name": "billing sync", "kind": "secret"}, headers=bearer(admin_key)
    )
    assert created.status_code == 201, created.text
    body = created.json()
    token = body["key"]
    assert token.startswith("ad_sk_") and body["api_key"]["prefix"] == token[:12]
    row = await db.scalar(sa.select(ApiKey).where(ApiKey.prefix == token[:12]))
    assert row is not None and row.key_hash == hash_token(token) and token not in row.key_hash
    listed = await client.get("/api/v1/api-keys", headers=bearer(admin_key))
    assert token not in listed.text
    assert await db.scalar(sa.select(AuditLog).where(AuditLog.action == "api_key.created")) is not None


async def test_last_use_is_recorded(client: httpx.AsyncClient, db: AsyncSession) -> None:
    org = await make_org(db)
    token = await make_key(db, org)
    assert (await client.get("/api/v1/users", headers=bearer(token))).status_code == 200
    row = await db.scalar(sa.select(ApiKey).where(ApiKey.key_hash == hash_token(token)))
    assert row is not None and row.last_used_at is not None


async def test_revoke_takes_effect_at_once(client: httpx.AsyncClient, db: AsyncSession) -> None:
    org = await make_org(db)
    admin_key = await make_key(db, org)
    victim = (
        await client.post("/api/v1/api-keys", json={"kind": "secret"}, headers=bearer(admin_key))
    ).json()
    assert (await client.get("/api/v1/users", headers=bearer(victim["key"]))).status_code == 200
    revoked = await client.delete(f"/api/v1/api-keys/{victim['api_key']['id']}", headers=bearer(admin_key))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    after = await client.get("/api/v1/users", headers=bearer(victim["key"]))
    assert after.status_code == 401
    assert after.json()["error"]["code"] == "unauthorized"
    assert await db.scalar(sa.select(AuditLog).where(AuditLog.action == "api_key.revoked")) is not None


async def test_a_key_is_looked_up_once_then_trusted_for_a_few_seconds(
    database_url: str, tmp_path: Path, db: AsyncSession
) -> None:
    org = await make_org(db)
    token = await make_key(db, org)
    settings = make_settings(database_url, tmp_path / "data", api_key_cache_seconds=0.5)
    async with started_app(settings) as application, app_client(application) as client:
        runtime: Runtime = application.state.runtime
        lookups: list[str] = []

        def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
            if "FROM api_key" in statement:
                lookups.append(statement)

        sa.event.listen(runtime.engine.sync_engine, "before_cursor_execute", count)
        for _ in range(3):
            assert (await client.get("/api/v1/users", headers=bearer(token))).status_code == 200
        assert len(lookups) == 1
        # Revoked by another process (straight in the database): refused once the entry expires.
        await db.execute(
            sa.update(ApiKey).where(ApiKey.organization_id == org.id).values(revoked_at=utcnow())
        )
        await db.commit()
        deadline = time.monotonic() + 10
        while (await client.get("/api/v1/users", headers=bearer(token))).status_code == 200:
            assert time.monotonic() < deadline, "a revoked key was still served after its cache time"
            await asyncio.sleep(0.05)


async def test_unknown_or_malformed_credentials(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/users", headers=bearer("ad_sk_nope"))).status_code == 401
    r = await client.get("/api/v1/users", headers={"Authorization": "Basic abc"})
    assert r.status_code == 401 and "Bearer" in r.json()["error"]["message"]


async def test_public_key_cannot_call_admin_endpoints(client: httpx.AsyncClient, db: AsyncSession) -> None:
    org = await make_org(db)
    public = await make_key(db, org, ApiKeyKind.public, origins=["https://shop.example.com"])
    assert public.startswith("ad_pk_")
    r = await client.get("/api/v1/users", headers=bearer(public, Origin="https://shop.example.com"))
    assert r.status_code == 403 and r.json()["error"]["code"] == "insufficient_scope"


async def test_public_key_only_from_its_origins(client: httpx.AsyncClient, db: AsyncSession) -> None:
    org = await make_org(db)
    public = await make_key(db, org, ApiKeyKind.public, origins=["https://shop.example.com"])
    for origin in ("https://evil.example.net", "http://shop.example.com", None):
        headers = bearer(public) if origin is None else bearer(public, Origin=origin)
        r = await client.get("/api/v1/organization", headers=headers)
        assert r.status_code == 403, origin
        assert r.json()["error"]["code"] == "origin_not_allowed"


async def test_key_validation_errors(client: httpx.AsyncClient, db: AsyncSession) -> None:
    org = await make_org(db)
    admin_key = await make_key(db, org)
    no_origin = await client.post("/api/v1/api-keys", json={"kind": "public"}, headers=bearer(admin_key))
    assert no_origin.status_code == 422 and "allowed origin" in no_origin.json()["error"]["message"]
    bad_origin = await client.post(
        "/api/v1/api-keys",
        json={"kind": "public", "allowed_origins": ["shop.example.com/x"]},
        headers=bearer(admin_key),
    )
    assert bad_origin.status_code == 422
    scoped = await client.post(
        "/api/v1/api-keys", json={"kind": "secret", "scopes": ["knowledge"]}, headers=bearer(admin_key)
    )
    assert scoped.status_code == 201
    limited = scoped.json()["key"]
    assert (await client.get("/api/v1/users", headers=bearer(limited))).status_code == 403
