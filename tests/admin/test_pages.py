"""Admin pages: navigation, role checks, and the Users / API keys / Settings forms."""

from __future__ import annotations

import re

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import Role
from tests.factories import bearer, logged_in, login, make_member, make_org


async def test_every_section_renders_for_admin(client: httpx.AsyncClient, db: AsyncSession) -> None:
    org = await make_org(db, "Pages Co")
    await make_member(db, org, Role.admin, email="pa@example.com")
    await logged_in(client, "pa@example.com")
    for path, title in [
        ("/admin", "Dashboard"),
        ("/admin/knowledge", "Knowledge"),
        ("/admin/chats", "Chats"),
        ("/admin/tickets", "Tickets"),
        ("/admin/settings", "Settings"),
        ("/admin/users", "Users"),
        ("/admin/api-keys", "API keys"),
        ("/admin/account", "Your account"),
        ("/admin/audit", "Audit log"),
    ]:
        page = await client.get(path)
        assert page.status_code == 200, path
        assert f"<h1>{title}</h1>" in page.text, path
        assert "/static/vendor/pico.min.css" in page.text and "cdn" not in page.text.lower()


async def test_staff_sees_no_admin_sections(client: httpx.AsyncClient, db: AsyncSession) -> None:
    org = await make_org(db)
    await make_member(db, org, Role.admin)
    await make_member(db, org, Role.staff, email="st@example.com")
    s = await logged_in(client, "st@example.com")
    dash = await client.get("/admin")
    assert 'href="/admin/users"' not in dash.text and 'href="/admin/chats"' in dash.text
    for path in ("/admin/users", "/admin/api-keys", "/admin/settings", "/admin/audit"):
        r = await client.get(path)
        assert r.status_code == 403, path
        assert "Only organization admins" in r.text
    r = await client.post(
        "/admin/users", data={"email": "x@example.com", "role": "admin", "csrf_token": s.csrf}
    )
    assert r.status_code == 403


async def test_invite_user_shows_password_once(
    client: httpx.AsyncClient, new_client: object, db: AsyncSession
) -> None:
    org = await make_org(db)
    await make_member(db, org, Role.admin, email="inv@example.com")
    s = await logged_in(client, "inv@example.com")
    page = await client.post(
        "/admin/users",
        data={"email": "newbie@example.com", "name": "New Bie", "role": "staff", "csrf_token": s.csrf},
    )
    assert page.status_code == 201
    password = re.search(r'data-testid="one-time-password">([^<]+)<', page.text)
    assert password and "newbie@example.com" in page.text
    assert password.group(1) not in (await client.get("/admin/users")).text
    other = new_client()  # type: ignore[operator]
    assert (await login(other, "newbie@example.com", password.group(1))).status_code == 303
    dup = await client.post(
        "/admin/users", data={"email": "newbie@example.com", "role": "staff", "csrf_token": s.csrf}
    )
    assert dup.status_code == 409 and "already exists" in dup.text


async def test_create_and_revoke_api_key_in_panel(client: httpx.AsyncClient, db: AsyncSession) -> None:
    org = await make_org(db)
    await make_member(db, org, Role.admin, email="keys@example.com")
    s = await logged_in(client, "keys@example.com")
    bad = await client.post(
        "/admin/api-keys", data={"kind": "public", "origins": "not a url", "csrf_token": s.csrf}
    )
    assert bad.status_code == 422 and "is not an origin" in bad.text
    page = await client.post(
        "/admin/api-keys",
        data={
            "kind": "public",
            "name": "Widget",
            "origins": "https://www.example.com\nhttps://shop.example.com:8443",
            "csrf_token": s.csrf,
        },
    )
    assert page.status_code == 201
    key = re.search(r'data-testid="new-api-key">([^<]+)<', page.text)
    assert key and key.group(1).startswith("ad_pk_")
    assert "https://shop.example.com:8443" in page.text
    secret = await client.post(
        "/admin/api-keys", data={"kind": "secret", "name": "Server", "csrf_token": s.csrf}
    )
    token = re.search(r'data-testid="new-api-key">([^<]+)<', secret.text)
    assert token
    assert (await client.get("/api/v1/users", headers=bearer(token.group(1)))).status_code == 200
    key_id = re.findall(r'action="/admin/api-keys/([0-9a-f-]+)/revoke"', secret.text)[0]
    revoked = await client.post(f"/admin/api-keys/{key_id}/revoke", data={"csrf_token": s.csrf})
    assert revoked.status_code == 303
    listing = await client.get("/admin/api-keys")
    assert "revoked" in listing.text


async def test_settings_validation_keeps_existing_values(client: httpx.AsyncClient, db: AsyncSession) -> None:
    org = await make_org(db, "Settings Co")
    await make_member(db, org, Role.admin, email="set@example.com")
    s = await logged_in(client, "set@example.com")
    bad = await client.post(
        "/admin/settings", data={"name": "Settings Co", "timezone": "Mars/Olympus", "csrf_token": s.csrf}
    )
    assert bad.status_code == 422 and "unknown time zone" in bad.text
    ok = await client.post(
        "/admin/settings",
        data={
            "name": "Renamed Co",
            "timezone": "Europe/London",
            "support_email": "help@example.com",
            "brand_color": "#112233",
            "csrf_token": s.csrf,
        },
    )
    assert ok.status_code == 303
    page = await client.get("/admin/settings")
    assert "Renamed Co" in page.text and "Europe/London" in page.text and "#112233" in page.text


async def test_role_change_and_deactivate_from_users_page(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    org = await make_org(db)
    await make_member(db, org, Role.admin, email="boss2@example.com")
    staff = await make_member(db, org, Role.staff, email="worker@example.com")
    s = await logged_in(client, "boss2@example.com")
    r = await client.post(f"/admin/users/{staff.user_id}/role", data={"role": "admin", "csrf_token": s.csrf})
    assert r.status_code == 303
    page = await client.get("/admin/users")
    assert "worker@example.com is now admin" in page.text


async def test_login_redirects_back_to_requested_page_only_locally(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    org = await make_org(db)
    await make_member(db, org, Role.admin, email="next@example.com")
    form = await client.get("/login?next=//evil.example.net/x")
    assert 'value="/admin"' in form.text
    form = await client.get("/login?next=/admin/settings")
    assert 'value="/admin/settings"' in form.text
