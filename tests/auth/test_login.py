"""Admin login: sessions, logout, expiry, CSRF, throttling, password change and reset."""

from __future__ import annotations

from datetime import timedelta

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.deps import SESSION_COOKIE
from answerdesk.auth.models import AuditLog, AuthSession, Role
from answerdesk.kit.db import utcnow
from answerdesk.runtime import Runtime
from tests.factories import PASSWORD, logged_in, login, make_member, make_org, page_csrf


async def test_login_sets_httponly_lax_cookie_and_opens_dashboard(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    org = await make_org(db, "Acme Hosting")
    m = await make_member(db, org, Role.admin, email="anna@example.com")
    response = await login(client, "ANNA@example.com ", PASSWORD)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin"
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    page = await client.get("/admin")
    assert page.status_code == 200 and "Acme Hosting" in page.text
    rows = (await db.scalars(sa.select(AuditLog.action).where(AuditLog.actor_user_id == m.user_id))).all()
    assert "login.succeeded" in rows


async def test_wrong_password_is_refused_and_audited(client: httpx.AsyncClient, db: AsyncSession) -> None:
    org = await make_org(db)
    await make_member(db, org, email="bob@example.com")
    response = await login(client, "bob@example.com", "wrong-password-123")
    assert response.status_code == 401
    assert "E-mail or password is not correct" in response.text
    assert (await client.get("/admin", follow_redirects=False)).status_code == 303
    failed = await db.scalar(sa.select(AuditLog).where(AuditLog.action == "login.failed"))
    assert failed is not None and failed.target == "bob@example.com" and failed.ip == "203.0.113.10"


async def test_unauthenticated_pages_redirect_to_login(client: httpx.AsyncClient, db: AsyncSession) -> None:
    response = await client.get("/admin/users", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/admin/users"


async def test_logout_really_ends_the_session(client: httpx.AsyncClient, db: AsyncSession) -> None:
    org = await make_org(db)
    await make_member(db, org, email="carol@example.com")
    session = await logged_in(client, "carol@example.com")
    token = client.cookies[SESSION_COOKIE]
    response = await client.post("/logout", data={"csrf_token": session.csrf})
    assert response.status_code == 303
    # Replaying the old cookie must not work: the server-side session is gone.
    client.cookies.set(SESSION_COOKIE, token)
    assert (await client.get("/admin", follow_redirects=False)).status_code == 303
    assert await db.scalar(sa.select(sa.func.count()).select_from(AuthSession)) == 0


async def test_idle_session_expires(client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime) -> None:
    org = await make_org(db)
    await make_member(db, org, email="dave@example.com")
    await logged_in(client, "dave@example.com")
    idle = timedelta(minutes=runtime.settings.session_idle_minutes + 1)
    await db.execute(sa.update(AuthSession).values(last_seen_at=utcnow() - idle))
    await db.commit()
    assert (await client.get("/admin", follow_redirects=False)).status_code == 303


async def test_absolute_session_expiry(client: httpx.AsyncClient, db: AsyncSession) -> None:
    org = await make_org(db)
    await make_member(db, org, email="erin@example.com")
    await logged_in(client, "erin@example.com")
    await db.execute(sa.update(AuthSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    await db.commit()
    assert (await client.get("/admin", follow_redirects=False)).status_code == 303


async def test_forms_without_csrf_token_are_refused(client: httpx.AsyncClient, db: AsyncSession) -> None:
    org = await make_org(db)
    await make_member(db, org, email="frank@example.com")
    await logged_in(client, "frank@example.com")
    response = await client.post("/admin/users", data={"email": "x@example.com", "role": "staff"})
    assert response.status_code == 403
    assert "did not come from this site" in response.text
    response = await client.post(
        "/admin/users", data={"email": "x@example.com", "role": "staff", "csrf_token": "forged"}
    )
    assert response.status_code == 403
    # The API refuses cookie-authenticated writes without the header too.
    api = await client.post("/api/v1/api-keys", json={"kind": "secret"})
    assert api.status_code == 403 and api.json()["error"]["code"] == "csrf_failed"


async def test_login_form_needs_its_csrf_cookie(client: httpx.AsyncClient, db: AsyncSession) -> None:
    org = await make_org(db)
    await make_member(db, org, email="gina@example.com")
    response = await client.post(
        "/login", data={"email": "gina@example.com", "password": PASSWORD, "csrf_token": "guess"}
    )
    assert response.status_code == 403


async def test_throttling_after_five_failures_per_account(
    client: httpx.AsyncClient, new_client: object, db: AsyncSession
) -> None:
    org = await make_org(db)
    await make_member(db, org, email="hank@example.com")
    for _ in range(5):
        assert (await login(client, "hank@example.com", "not-the-password")).status_code == 401
    # Even the right password is refused during the cooling-off period, from any IP.
    other = new_client("198.51.100.7")  # type: ignore[operator]
    refused = await login(other, "hank@example.com", PASSWORD)
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    assert "Too many failed logins" in refused.text


async def test_throttling_per_ip_across_accounts(client: httpx.AsyncClient, db: AsyncSession) -> None:
    org = await make_org(db)
    await make_member(db, org, email="ivy@example.com")
    for i in range(5):
        await login(client, f"nobody{i}@example.com", "whatever-password")
    assert (await login(client, "ivy@example.com", PASSWORD)).status_code == 429


async def test_password_change_keeps_this_session_and_ends_others(
    client: httpx.AsyncClient, new_client: object, db: AsyncSession
) -> None:
    org = await make_org(db)
    await make_member(db, org, email="jack@example.com")
    me = await logged_in(client, "jack@example.com")
    other = await logged_in(new_client(), "jack@example.com")  # type: ignore[operator]
    bad = await client.post(
        "/admin/account/password",
        data={
            "csrf_token": me.csrf,
            "current_password": PASSWORD,
            "new_password": "short",
            "confirm_password": "short",
        },
    )
    assert bad.status_code == 422 and "at least 10 characters" in bad.text
    ok = await client.post(
        "/admin/account/password",
        data={
            "csrf_token": me.csrf,
            "current_password": PASSWORD,
            "new_password": "a-much-better-secret",
            "confirm_password": "a-much-better-secret",
        },
    )
    assert ok.status_code == 303
    assert (await client.get("/admin")).status_code == 200
    assert (await other.client.get("/admin", follow_redirects=False)).status_code == 303
    assert (await login(new_client(), "jack@example.com", PASSWORD)).status_code == 401  # type: ignore[operator]
    assert (await login(new_client(), "jack@example.com", "a-much-better-secret")).status_code == 303  # type: ignore[operator]


async def test_admin_reset_gives_new_password_and_ends_sessions(
    client: httpx.AsyncClient, new_client: object, db: AsyncSession
) -> None:
    org = await make_org(db)
    await make_member(db, org, email="kate@example.com")
    staff = await make_member(db, org, Role.staff, email="leo@example.com")
    admin = await logged_in(client, "kate@example.com")
    staff_session = await logged_in(new_client(), "leo@example.com")  # type: ignore[operator]
    page = await client.post(f"/admin/users/{staff.user_id}/reset-password", data={"csrf_token": admin.csrf})
    assert page.status_code == 200
    import re

    password = re.search(r'data-testid="one-time-password">([^<]+)<', page.text)
    assert password
    assert (await staff_session.client.get("/admin", follow_redirects=False)).status_code == 303
    assert (await login(new_client(), "leo@example.com", password.group(1))).status_code == 303  # type: ignore[operator]


async def test_deactivated_member_cannot_log_in(client: httpx.AsyncClient, db: AsyncSession) -> None:
    org = await make_org(db)
    await make_member(db, org, email="mia@example.com")
    staff = await make_member(db, org, Role.staff, email="ned@example.com")
    admin = await logged_in(client, "mia@example.com")
    r = await client.post(
        f"/admin/users/{staff.user_id}/active", data={"csrf_token": admin.csrf, "active": "false"}
    )
    assert r.status_code == 303
    from tests.factories import login as do_login

    other = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")  # type: ignore[attr-defined]
    assert (await do_login(other, "ned@example.com")).status_code == 401


async def test_login_page_is_readable_after_logout(client: httpx.AsyncClient) -> None:
    page = await client.get("/login")
    assert page.status_code == 200
    assert page_csrf(page.text)
    assert '<label for="email">' in page.text
