"""Users API: members of the calling organization, roles, and the last-admin rule."""

from __future__ import annotations

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import AuditLog, Role
from tests.factories import bearer, logged_in, make_key, make_member, make_org


async def test_create_list_update_remove(client: httpx.AsyncClient, db: AsyncSession) -> None:
    org = await make_org(db)
    key = await make_key(db, org)
    await make_member(db, org, Role.admin, email="owner@example.com")
    created = await client.post(
        "/api/v1/users", json={"email": "New@Example.com", "role": "staff"}, headers=bearer(key)
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["user"]["email"] == "new@example.com" and body["user"]["role"] == "staff"
    assert len(body["password"]) >= 12
    user_id = body["user"]["id"]
    listed = (await client.get("/api/v1/users", headers=bearer(key))).json()
    assert [u["email"] for u in listed] == ["new@example.com", "owner@example.com"]
    promoted = await client.patch(f"/api/v1/users/{user_id}", json={"role": "admin"}, headers=bearer(key))
    assert promoted.json()["role"] == "admin"
    audit = await db.scalar(sa.select(AuditLog).where(AuditLog.action == "member.role_changed"))
    assert audit is not None and audit.details == {"from": "staff", "to": "admin"}
    assert (await client.delete(f"/api/v1/users/{user_id}", headers=bearer(key))).status_code == 204
    assert (await client.get(f"/api/v1/users/{user_id}", headers=bearer(key))).status_code == 404


async def test_duplicate_email_and_weak_password(client: httpx.AsyncClient, db: AsyncSession) -> None:
    org = await make_org(db)
    key = await make_key(db, org)
    await make_member(db, org, email="taken@example.com")
    dup = await client.post("/api/v1/users", json={"email": "taken@example.com"}, headers=bearer(key))
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "conflict"
    weak = await client.post(
        "/api/v1/users", json={"email": "w@example.com", "password": "123"}, headers=bearer(key)
    )
    assert weak.status_code == 422 and "at least 10" in weak.json()["error"]["message"]
    bad = await client.post("/api/v1/users", json={"email": "not-an-email"}, headers=bearer(key))
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["loc"] == ["body", "email"]


async def test_last_admin_cannot_be_demoted_or_deactivated(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    org = await make_org(db)
    key = await make_key(db, org)
    admin = await make_member(db, org, Role.admin)
    for change in ({"role": "staff"}, {"is_active": False}):
        r = await client.patch(f"/api/v1/users/{admin.user_id}", json=change, headers=bearer(key))
        assert r.status_code == 409, change
        assert "at least one active admin" in r.json()["error"]["message"]


async def test_existing_user_joins_second_organization(client: httpx.AsyncClient, db: AsyncSession) -> None:
    first, second = await make_org(db, "First"), await make_org(db, "Second")
    await make_member(db, first, Role.admin, email="both@example.com")
    key = await make_key(db, second)
    added = await client.post(
        "/api/v1/memberships", json={"email": "both@example.com", "role": "staff"}, headers=bearer(key)
    )
    assert added.status_code == 201 and added.json()["role"] == "staff"
    again = await client.post("/api/v1/memberships", json={"email": "both@example.com"}, headers=bearer(key))
    assert again.status_code == 409
    unknown = await client.post(
        "/api/v1/memberships", json={"email": "ghost@example.com"}, headers=bearer(key)
    )
    assert unknown.status_code == 404


async def test_staff_session_cannot_use_admin_api(client: httpx.AsyncClient, db: AsyncSession) -> None:
    org = await make_org(db)
    await make_member(db, org, Role.admin)
    await make_member(db, org, Role.staff, email="staff@example.com")
    s = await logged_in(client, "staff@example.com")
    r = await client.get("/api/v1/users", headers=s.headers())
    assert r.status_code == 403 and r.json()["error"]["code"] == "insufficient_scope"


async def test_admin_session_can_use_api_with_csrf_header(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    org = await make_org(db)
    await make_member(db, org, Role.admin, email="boss@example.com")
    s = await logged_in(client, "boss@example.com")
    r = await client.post(
        "/api/v1/api-keys", json={"kind": "secret", "name": "from the panel"}, headers=s.headers()
    )
    assert r.status_code == 201
    assert (await client.get("/api/v1/organization")).json()["slug"] == org.slug
