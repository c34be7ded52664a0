"""The operator console and suspension: who may see it, what suspension switches off, and the audit trail."""

from __future__ import annotations

import httpx
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import ApiKeyKind, AuditLog, Role, User
from answerdesk.auth.service import MemberService
from answerdesk.billing.service import AnswerQuota, BillingService
from answerdesk.operator.service import OperatorService
from answerdesk.signup.models import SignupInvitation
from answerdesk.tenants.models import Organization
from answerdesk.tickets.repository import ConnectionRepository
from tests.factories import (
    PASSWORD,
    LoggedIn,
    bearer,
    logged_in,
    login,
    make_key,
    make_member,
    make_org,
    page_csrf,
)
from tests.fakes.whmcs_server import FakeWhmcs, serve_fake_whmcs
from tests.tickets.support import connect

ORIGIN = "https://shop.example.com"


async def make_operator(db: AsyncSession, email: str = "ops@instance.example") -> None:
    await MemberService(db).create_operator(email, password=PASSWORD)
    await db.commit()


async def operator_login(client: httpx.AsyncClient, email: str = "ops@instance.example") -> LoggedIn:
    assert (await login(client, email)).status_code == 303
    return LoggedIn(client, page_csrf((await client.get("/operator")).text))


async def test_operator_logs_in_to_the_console_and_org_admins_cannot_see_it(
    client: httpx.AsyncClient, db: AsyncSession, new_client: object
) -> None:
    org = await make_org(db, "Blue Hosting")
    await make_member(db, org, Role.admin, email="admin@blue.example")
    await make_operator(db)

    response = await login(client, "ops@instance.example")
    assert response.status_code == 303 and response.headers["location"] == "/operator"
    console = await client.get("/operator")
    assert console.status_code == 200
    assert "Blue Hosting" in console.text and "Enterprise" in console.text and "active" in console.text
    # The admin panel has nothing for an operator without an organization: it sends them to the console.
    admin = await client.get("/admin")
    assert admin.status_code == 303 and admin.headers["location"] == "/operator"
    logout = await client.post("/logout", data={"csrf_token": page_csrf(console.text)})
    assert logout.status_code == 303 and (await client.get("/operator")).status_code == 303

    other = new_client()  # type: ignore[operator]
    await logged_in(other, "admin@blue.example")
    for path in (
        "/operator",
        f"/operator/organizations/{org.id}",
        "/operator/invitations",
        "/operator/audit",
    ):
        assert (await other.get(path)).status_code == 404, path
    dashboard = await other.get("/admin")
    assert "Operator console" not in dashboard.text
    anonymous = await new_client().get("/operator")  # type: ignore[operator]
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")


async def test_suspension_stops_keys_but_members_can_still_read(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession, new_client: object
) -> None:
    org = await make_org(db, "Late Payer")
    await make_member(db, org, Role.admin, email="admin@late.example")
    other_org = await make_org(db, "Good Payer")
    secret = await make_key(db, org)
    public = await make_key(db, org, ApiKeyKind.public, origins=[ORIGIN])
    other_secret = await make_key(db, other_org)
    await make_operator(db)

    ops = await operator_login(client)
    page = await client.get(f"/operator/organizations/{org.id}")
    assert 'data-testid="org-status">active' in page.text
    api = new_client()  # type: ignore[operator]
    # Used a moment ago, so this process has the keys cached: suspending must still stop them at once.
    assert (await api.get("/api/v1/knowledge/documents", headers=bearer(secret))).status_code == 200
    assert (await api.get("/api/v1/widget/config", headers=bearer(public, Origin=ORIGIN))).status_code == 200
    suspended = await client.post(
        f"/operator/organizations/{org.id}/suspend",
        data={"csrf_token": ops.csrf, "reason": "Invoice 1042 unpaid"},
    )
    assert suspended.status_code == 303
    page = await client.get(f"/operator/organizations/{org.id}")
    assert "suspended since" in page.text and "Invoice 1042 unpaid" in page.text

    for response in (
        await api.get("/api/v1/knowledge/documents", headers=bearer(secret)),
        await api.get("/api/v1/widget/config", headers=bearer(public, Origin=ORIGIN)),
        await api.post("/api/v1/conversations", headers=bearer(public, Origin=ORIGIN), json={}),
    ):
        assert response.status_code == 403, response.text
        error = response.json()["error"]
        assert error["code"] == "organization_suspended"
        assert error["message"] == "This organization is suspended. Please contact the service operator."
    # The organization's own site may read why (CORS); a site its key does not allow learns nothing.
    own = await api.get("/api/v1/widget/config", headers=bearer(public, Origin=ORIGIN))
    assert own.headers.get("access-control-allow-origin") == ORIGIN
    foreign = await api.get("/api/v1/widget/config", headers=bearer(public, Origin="https://evil.example"))
    assert foreign.status_code == 403 and foreign.json()["error"]["code"] == "origin_not_allowed"
    assert "access-control-allow-origin" not in foreign.headers
    # Other organizations are untouched.
    assert (await api.get("/api/v1/organization", headers=bearer(other_secret))).status_code == 200

    # Its admin still logs in and reads (to export), but changes nothing.
    member = new_client()  # type: ignore[operator]
    admin = await logged_in(member, "admin@late.example")
    dashboard = await member.get("/admin")
    assert dashboard.status_code == 200 and 'data-testid="suspended-banner"' in dashboard.text
    assert (await member.get("/admin/onboarding")).text == ""  # no steps to suggest while suspended
    assert (await member.get("/api/v1/organization")).status_code == 200
    assert (await member.get("/admin/knowledge")).status_code == 200
    refused = await member.post("/admin/users", data={"csrf_token": admin.csrf, "email": "x@late.example"})
    assert refused.status_code == 403 and "suspended" in refused.text
    api_write = await member.patch("/api/v1/organization", json={"name": "Renamed"}, headers=admin.headers())
    assert api_write.status_code == 403 and api_write.json()["error"]["code"] == "organization_suspended"

    resumed = await client.post(f"/operator/organizations/{org.id}/resume", data={"csrf_token": ops.csrf})
    assert resumed.status_code == 303
    assert (await api.get("/api/v1/knowledge/documents", headers=bearer(secret))).status_code == 200
    assert (await api.get("/api/v1/widget/config", headers=bearer(public, Origin=ORIGIN))).status_code == 200
    assert (
        await member.patch("/api/v1/organization", json={"name": "Renamed"}, headers=admin.headers())
    ).status_code == 200

    async with app.state.runtime.sessionmaker() as check:
        rows = (
            await check.execute(
                sa.select(AuditLog.action, AuditLog.details, AuditLog.actor_user_id)
                .where(AuditLog.organization_id == org.id, AuditLog.action.startswith("operator."))
                .order_by(AuditLog.created_at)
            )
        ).all()
    assert [r.action for r in rows] == ["operator.org_suspended", "operator.org_resumed"]
    assert rows[0].details == {"reason": "Invoice 1042 unpaid"} and all(r.actor_user_id for r in rows)
    audit_page = await client.get("/operator/audit")
    assert "operator.org_suspended" in audit_page.text and "operator.org_resumed" in audit_page.text
    # Twice is a clear conflict, not a silent second entry.
    again = await client.post(f"/operator/organizations/{org.id}/resume", data={"csrf_token": ops.csrf})
    assert again.status_code == 409


async def test_change_plan_by_hand_is_audited(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    org = await make_org(db, "Big Deal Inc")
    await make_operator(db)
    ops = await operator_login(client)
    changed = await client.post(
        f"/operator/organizations/{org.id}/plan", data={"csrf_token": ops.csrf, "plan": "pro"}
    )
    assert changed.status_code == 303
    runtime = app.state.runtime
    quota = AnswerQuota(runtime.sessionmaker, runtime.settings, runtime.jobs)
    for _ in range(3):
        assert await quota.reserve(org.id) is not None
    page = await client.get(f"/operator/organizations/{org.id}")
    assert 'data-testid="org-plan">Pro' in page.text
    console = await client.get("/operator")
    row = console.text.split('data-org="big-deal-inc"', 1)[1].split("</tr>", 1)[0]
    assert "Pro" in row and "3 / 5000" in row
    assert "3 of 5000" in page.text

    unknown = await client.post(
        f"/operator/organizations/{org.id}/plan", data={"csrf_token": ops.csrf, "plan": "platinum"}
    )
    assert unknown.status_code == 404
    forged = await client.post(
        f"/operator/organizations/{org.id}/plan", data={"csrf_token": "x", "plan": "free"}
    )
    assert forged.status_code == 403

    async with app.state.runtime.sessionmaker() as check:
        fresh = await check.get(Organization, org.id)
        assert fresh is not None
        assert (await BillingService(check, app.state.runtime.settings).get_plan_for_org(fresh)).slug == "pro"
        entry = await check.scalar(sa.select(AuditLog).where(AuditLog.action == "operator.plan_changed"))
        assert entry is not None and entry.details == {"from": "enterprise", "to": "pro"}
        assert entry.organization_id == org.id


async def test_invitations_from_the_console(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await make_operator(db)
    ops = await operator_login(client)
    created = await client.post(
        "/operator/invitations", data={"csrf_token": ops.csrf, "note": "Acme", "email": "", "days": "7"}
    )
    assert created.status_code == 200
    url = created.text.split('data-testid="invitation-url">', 1)[1].split("<", 1)[0]
    assert url.startswith("http://testserver/signup?invite=adinv_")
    listing = await client.get("/operator/invitations")
    assert "Acme" in listing.text and url.split("=", 1)[1] not in listing.text  # the code is shown once
    assert ">open<" in listing.text
    async with app.state.runtime.sessionmaker() as check:
        invitation = await check.scalar(sa.select(SignupInvitation))
        assert invitation is not None and invitation.note == "Acme" and invitation.email is None
    revoked = await client.post(
        f"/operator/invitations/{invitation.id}/revoke", data={"csrf_token": ops.csrf}
    )
    assert revoked.status_code == 303
    assert ">revoked<" in (await client.get("/operator/invitations")).text
    async with app.state.runtime.sessionmaker() as check:
        actions = set(await check.scalars(sa.select(AuditLog.action)))
    assert {"operator.invitation_created", "operator.invitation_revoked"} <= actions


async def test_suspended_org_members_still_log_in(
    client: httpx.AsyncClient, db: AsyncSession, new_client: object
) -> None:
    org = await make_org(db, "Suspended Co")
    await make_member(db, org, Role.staff, email="staff@suspended.example")
    await make_operator(db)
    ops = await operator_login(client)
    await client.post(f"/operator/organizations/{org.id}/suspend", data={"csrf_token": ops.csrf})
    staff = new_client()  # type: ignore[operator]
    assert (await login(staff, "staff@suspended.example")).status_code == 303
    assert (await staff.get("/admin/chats")).status_code == 200


async def test_suspended_organizations_are_not_synced(app: FastAPI, db: AsyncSession) -> None:
    runtime = app.state.runtime
    paused, running = await make_org(db, "Paused"), await make_org(db, "Running")
    with serve_fake_whmcs(FakeWhmcs()) as whmcs:
        await connect(runtime, paused.id, whmcs)
        await connect(runtime, running.id, whmcs)
    await make_operator(db)
    operator = await db.scalar(sa.select(User).where(User.is_operator))
    assert operator is not None
    await OperatorService(db, runtime.settings).suspend(paused.id, reason="", actor=operator)
    await db.commit()
    async with runtime.sessionmaker() as check:
        due = {c.organization_id for c in await ConnectionRepository(check).enabled()}
    assert due == {running.id}
