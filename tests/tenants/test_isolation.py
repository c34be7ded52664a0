"""Tenant isolation: a user or key of org A gets 404 for every object of org B, over API and admin pages."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import ApiKeyKind, Role
from answerdesk.auth.service import ApiKeyService
from tests.factories import bearer, logged_in, make_key, make_member, make_org


async def _two_tenants(db: AsyncSession) -> dict[str, object]:
    a, b = await make_org(db, "Tenant A"), await make_org(db, "Tenant B")
    await make_member(db, a, Role.admin, email="admin-a@example.com")
    b_user = await make_member(db, b, Role.admin, email="admin-b@example.com")
    b_staff = await make_member(db, b, Role.staff, email="staff-b@example.com")
    b_key, _ = await ApiKeyService(db).create(b.id, kind=ApiKeyKind.secret, name="b's key")
    await db.commit()
    return {"a": a, "b": b, "b_user": b_user.user_id, "b_staff": b_staff.user_id, "b_key": b_key.id}


async def test_api_returns_404_for_other_tenant_objects(client: httpx.AsyncClient, db: AsyncSession) -> None:
    t = await _two_tenants(db)
    key_a = await make_key(db, t["a"])  # type: ignore[arg-type]
    h = bearer(key_a)
    calls = [
        ("GET", f"/api/v1/users/{t['b_user']}", None),
        ("PATCH", f"/api/v1/users/{t['b_staff']}", {"role": "admin"}),
        ("DELETE", f"/api/v1/users/{t['b_staff']}", None),
        ("POST", f"/api/v1/users/{t['b_staff']}/password-reset", None),
        ("GET", f"/api/v1/api-keys/{t['b_key']}", None),
        ("DELETE", f"/api/v1/api-keys/{t['b_key']}", None),
    ]
    for method, url, body in calls:
        r = await client.request(method, url, json=body, headers=h)
        assert r.status_code == 404, (method, url, r.text)
        assert r.json()["error"]["code"] == "not_found"
    users = (await client.get("/api/v1/users", headers=h)).json()
    assert {u["email"] for u in users} == {"admin-a@example.com"}
    keys = (await client.get("/api/v1/api-keys", headers=h)).json()
    assert all(k["name"] != "b's key" for k in keys)
    assert (await client.get("/api/v1/organization", headers=h)).json()["name"] == "Tenant A"
    assert all(
        e["target"] != "staff-b@example.com"
        for e in (await client.get("/api/v1/audit-log", headers=h)).json()
    )


async def test_admin_pages_return_404_for_other_tenant_objects(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await _two_tenants(db)
    s = await logged_in(client, "admin-a@example.com")
    posts = [
        (f"/admin/users/{t['b_staff']}/role", {"role": "admin"}),
        (f"/admin/users/{t['b_staff']}/active", {"active": "false"}),
        (f"/admin/users/{t['b_staff']}/reset-password", {}),
        (f"/admin/users/{t['b_staff']}/remove", {}),
        (f"/admin/api-keys/{t['b_key']}/revoke", {}),
        ("/admin/switch-org", {"organization_id": str(t["b"].id)}),  # type: ignore[attr-defined]
    ]
    for url, data in posts:
        r = await client.post(url, data={**data, "csrf_token": s.csrf})
        assert r.status_code == 404, (url, r.status_code)
    users_page = await client.get("/admin/users")
    assert "staff-b@example.com" not in users_page.text
    keys_page = await client.get("/admin/api-keys")
    assert "b&#39;s key" not in keys_page.text and "b's key" not in keys_page.text
    # B's objects are untouched.
    key_b = await make_key(db, t["b"])  # type: ignore[arg-type]
    b_users = (await client.get("/api/v1/users", headers=bearer(key_b))).json()
    staff = next(u for u in b_users if u["email"] == "staff-b@example.com")
    assert staff["role"] == "staff" and staff["is_active"]


async def test_member_of_two_orgs_switches_between_them(client: httpx.AsyncClient, db: AsyncSession) -> None:
    a, b = await make_org(db, "Alpha"), await make_org(db, "Beta")
    m = await make_member(db, a, Role.admin, email="multi@example.com")
    from answerdesk.auth.service import MemberService

    await MemberService(db).add_existing(b.id, "multi@example.com", Role.staff)
    await db.commit()
    s = await logged_in(client, "multi@example.com")
    assert m.organization_id == a.id
    r = await client.post("/admin/switch-org", data={"organization_id": str(b.id), "csrf_token": s.csrf})
    assert r.status_code == 303
    dash = await client.get("/admin")
    assert "Beta" in dash.text
    # Staff in Beta: admin-only pages are closed there.
    assert (await client.get("/admin/users")).status_code == 403
