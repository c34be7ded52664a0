"""The admin's privacy actions: a customer's export and erasure from a conversation or ticket (typed
confirmation, admins only, audited), retention, the organization's export and its deletion (typed name)."""

from __future__ import annotations

import json
import uuid

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import AuditLog, Role
from answerdesk.chat.models import Conversation
from answerdesk.runtime import Runtime
from answerdesk.tenants.models import Organization
from answerdesk.tickets.models import Ticket
from tests.factories import bearer, logged_in, make_key, make_member, make_org
from tests.knowledge.ingest_support import drain
from tests.privacy.support import org_rows
from tests.tickets.native import native_ticket

EMAIL = "carol@example.com"


async def chat_with(client: httpx.AsyncClient, headers: dict[str, str], email: str) -> str:
    started = await client.post("/api/v1/conversations", headers=headers, json={"customer": {"email": email}})
    assert started.status_code == 201, started.text
    conversation_id: str = started.json()["id"]
    return conversation_id


async def actions(runtime: Runtime) -> list[str]:
    async with runtime.sessionmaker() as s:
        return list((await s.scalars(sa.select(AuditLog.action).order_by(AuditLog.created_at))).all())


async def test_customer_export_and_erasure_from_a_conversation_and_a_ticket(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime, new_client: object
) -> None:
    org = await make_org(db)
    admin = await make_member(db, org, Role.admin)
    staff = await make_member(db, org, Role.staff)
    headers = bearer(await make_key(db, org))
    conversation_id = await chat_with(client, headers, EMAIL)
    ticket = await native_ticket(
        runtime, org.id, "My invoice shows the wrong company name.", client_email=EMAIL
    )
    session = await logged_in(client, admin.user.email)

    page = await client.get(f"/admin/chats/{conversation_id}")
    assert page.status_code == 200
    assert "Export this customer's data" in page.text and "Erase this customer" in page.text
    assert "WHMCS is never changed" in page.text
    ticket_page = await client.get(f"/admin/tickets/{ticket.id}")
    assert 'data-testid="customer-privacy"' in ticket_page.text
    # Staff see neither button, and cannot post the actions.
    other = new_client()  # type: ignore[operator]
    staff_session = await logged_in(other, staff.user.email)
    assert 'data-testid="customer-privacy"' not in (await other.get(f"/admin/chats/{conversation_id}")).text
    refused = await other.post(
        "/admin/privacy/customer/erase",
        data={"csrf_token": staff_session.csrf, "email": EMAIL, "confirm": EMAIL, "back": "chats"},
    )
    assert refused.status_code == 403

    exported = await client.post(
        "/admin/privacy/customer/export", data={"csrf_token": session.csrf, "email": EMAIL}
    )
    assert exported.status_code == 200 and "attachment" in exported.headers["content-disposition"]
    data = json.loads(exported.text)
    assert len(data["conversations"]) == 1 and len(data["tickets"]) == 1

    wrong = await client.post(
        "/admin/privacy/customer/erase",
        data={
            "csrf_token": session.csrf,
            "email": EMAIL,
            "confirm": "carol",
            "back": "tickets",
            "page": f"/admin/tickets/{ticket.id}",
        },
    )
    assert wrong.status_code == 303 and wrong.headers["location"] == f"/admin/tickets/{ticket.id}"
    flashed = await client.get(wrong.headers["location"])
    assert "Nothing was erased" in flashed.text
    erased = await client.post(
        "/admin/privacy/customer/erase",
        data={"csrf_token": session.csrf, "email": EMAIL, "confirm": f" {EMAIL.upper()} ", "back": "tickets"},
    )
    assert erased.status_code == 303 and erased.headers["location"] == "/admin/tickets"
    listing = await client.get("/admin/tickets")
    assert "1 conversation(s)" in listing.text and "WHMCS was not changed" in listing.text
    async with runtime.sessionmaker() as s:
        assert await s.scalar(sa.select(sa.func.count()).select_from(Conversation)) == 0
        assert await s.scalar(sa.select(sa.func.count()).select_from(Ticket)) == 0
    assert {"privacy.customer_exported", "privacy.customer_erased"} <= set(await actions(runtime))
    audit = await client.get("/admin/audit")
    assert "privacy.customer_erased" in audit.text and EMAIL not in audit.text


async def test_settings_retention_export_and_organization_deletion(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org = await make_org(db, "Delete Me Ltd")
    admin = await make_member(db, org, Role.admin)
    session = await logged_in(client, admin.user.email)
    page = await client.get("/admin/settings")
    assert "Privacy (GDPR)" in page.text and "Delete this organization" in page.text

    saved = await client.post(
        "/admin/settings/privacy", data={"csrf_token": session.csrf, "retention_days": "90"}
    )
    assert saved.status_code == 303
    assert 'value="90"' in (await client.get("/admin/settings")).text
    bad = await client.post(
        "/admin/settings/privacy", data={"csrf_token": session.csrf, "retention_days": "-3"}
    )
    assert "whole number of days" in (await client.get(bad.headers["location"])).text
    async with runtime.sessionmaker() as s:
        stored = await s.get(Organization, org.id)
        assert stored is not None and stored.settings["privacy"] == {"retention_days": 90}

    requested = await client.post("/admin/settings/exports", data={"csrf_token": session.csrf})
    assert requested.status_code == 303
    await drain(runtime)
    settings_page = await client.get("/admin/settings")
    link = settings_page.text.split('href="/admin/settings/exports/')[1].split('"')[0]
    download = await client.get(f"/admin/settings/exports/{link}")
    assert download.status_code == 200 and download.content[:2] == b"PK"
    missing = await client.get(f"/admin/settings/exports/{uuid.uuid4()}/download")
    assert missing.status_code == 404

    kept = await client.post(
        "/admin/settings/delete-organization", data={"csrf_token": session.csrf, "confirm_name": "delete me"}
    )
    assert "Nothing was deleted" in (await client.get(kept.headers["location"])).text
    assert await org_rows(runtime, org.id)
    deleted = await client.post(
        "/admin/settings/delete-organization",
        data={"csrf_token": session.csrf, "confirm_name": "Delete Me Ltd"},
    )
    assert deleted.status_code == 303
    assert await org_rows(runtime, org.id) == {}
    # The admin belonged to no other organization: the account went too, so the next page asks to log in.
    after = await client.get("/admin")
    assert after.status_code == 303 and after.headers["location"].startswith("/login")
    assert "privacy.organization_deleted" in await actions(runtime)
