"""Plan limits and features: 402s with the error shape and a plain message, where the plan says no."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import ApiKeyKind, Role
from answerdesk.kit.errors import PaymentRequired
from answerdesk.runtime import Runtime
from tests.billing.support import put_on_plan
from tests.chat.live_support import ORIGIN, customer_headers, live, live_org, start_conversation
from tests.factories import bearer, logged_in, make_key, make_member, make_org, page_csrf
from tests.tickets.support import WHMCS_API

FAQ = "/api/v1/knowledge/faqs"


def assert_402(response: httpx.Response, limit_words: str) -> dict[str, object]:
    assert response.status_code == 402, response.text
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["code"] == "plan_limit"
    assert limit_words in error["message"], error["message"]
    return error  # type: ignore[no-any-return]


async def test_new_knowledge_past_the_chunk_limit_is_refused(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org = await make_org(db)
    await put_on_plan(db, runtime.settings, org, chunks_limit=2)
    headers = bearer(await make_key(db, org))
    for n in range(2):
        body = {"question": f"Question {n}?", "answer": f"Answer number {n}."}
        assert (await client.post(FAQ, headers=headers, json=body)).status_code == 202
    await runtime.jobs.drain(timeout=120)  # type: ignore[attr-defined] - the in-process queue

    error = assert_402(
        await client.post(FAQ, headers=headers, json={"question": "One more?", "answer": "No room."}),
        "knowledge base is full",
    )
    assert error["details"] == {"limit": "chunks", "used": 2, "allowed": 2, "plan": "tiny"}
    upload = await client.post(
        "/api/v1/knowledge/documents",
        headers=headers,
        files={"file": ("guide.md", b"# Guide\n\nSome text.", "text/markdown")},
    )
    assert_402(upload, "Delete documents or upgrade your plan")
    urls = await client.post("/api/v1/knowledge/urls", headers=headers, json={"url": "https://example.com/"})
    assert_402(urls, "knowledge base is full")
    listed = (await client.get("/api/v1/knowledge/documents", headers=headers)).json()
    assert len(listed) == 2  # nothing half-added


async def test_members_past_the_seats_are_refused(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org = await make_org(db)
    admin = await make_member(db, org)
    await put_on_plan(db, runtime.settings, org, seats_limit=2)
    headers = bearer(await make_key(db, org))
    first = await client.post(
        "/api/v1/users", headers=headers, json={"email": "two@example.com", "role": "staff"}
    )
    assert first.status_code == 201, first.text
    error = assert_402(
        await client.post(
            "/api/v1/users", headers=headers, json={"email": "three@example.com", "role": "staff"}
        ),
        "All 2 seats of the Tiny plan are taken",
    )
    assert error["details"] == {"limit": "seats", "used": 2, "allowed": 2, "plan": "tiny"}

    # An existing user of another organization is a seat too.
    other = await make_org(db)
    outsider = await make_member(db, other, role=Role.staff)
    assert_402(
        await client.post(
            "/api/v1/memberships", headers=headers, json={"email": outsider.user.email, "role": "staff"}
        ),
        "seats",
    )

    # A deactivated member frees a seat; reactivating needs one.
    two = first.json()["user"]["id"]
    off = await client.patch(f"/api/v1/users/{two}", headers=headers, json={"is_active": False})
    assert off.status_code == 200, off.text
    assert (
        await client.post(
            "/api/v1/users", headers=headers, json={"email": "four@example.com", "role": "staff"}
        )
    ).status_code == 201
    assert_402(await client.patch(f"/api/v1/users/{two}", headers=headers, json={"is_active": True}), "seats")

    # The admin's invite form says so in words.
    session = await logged_in(client, admin.user.email)
    page = await session.client.get("/admin/users")
    response = await session.client.post(
        "/admin/users",
        data={"email": "five@example.com", "role": "staff", "csrf_token": page_csrf(page.text)},
    )
    assert response.status_code == 402
    assert "All 2 seats of the Tiny plan are taken" in response.text


async def test_secret_keys_need_api_access(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org = await make_org(db)
    admin = await make_member(db, org)
    secret = await make_key(db, org)
    await put_on_plan(db, runtime.settings, org, "no-api", feature_api_access=False)
    assert_402(await client.get("/api/v1/billing/usage", headers=bearer(secret)), "API access")
    # The admin (a login session) and the widget (a public key) are not API access.
    session = await logged_in(client, admin.user.email)
    assert (await session.client.get("/api/v1/billing/usage")).status_code == 200
    public = await make_key(db, org, ApiKeyKind.public, origins=[ORIGIN])
    config = await client.get(
        "/api/v1/widget/config", headers={"Authorization": f"Bearer {public}", "Origin": ORIGIN}
    )
    assert config.status_code == 200, config.text


async def test_whmcs_needs_the_feature(client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime) -> None:
    org = await make_org(db)
    await put_on_plan(db, runtime.settings, org, feature_whmcs=False)
    response = await client.put(
        f"{WHMCS_API}/connection",
        headers=bearer(await make_key(db, org)),
        json={"url": "https://whmcs.example.com", "identifier": "id", "secret": "secret"},
    )
    assert_402(response, "WHMCS connection is not included in the Tiny plan")


async def test_without_live_chat_the_customer_gets_the_message_form(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org = await live_org(db)
    await put_on_plan(db, runtime.settings, org.org, feature_live_chat=False)
    await live(runtime).staff_present(org.id, str(org.staff.user_id))  # someone has the page open
    cid, token = await start_conversation(runtime, org)
    response = await client.post(f"/api/v1/conversations/{cid}/handoff", headers=customer_headers(org, token))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["staff_online"] is False and body["can_leave_message"] is True
    async with runtime.sessionmaker() as session:
        with pytest.raises(PaymentRequired, match="Live chat with your team is not included"):
            await live(runtime).take_over(session, org.id, cid, org.staff)


async def test_live_chat_plan_lets_staff_join(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org = await live_org(db)
    await put_on_plan(db, runtime.settings, org.org, feature_live_chat=True)
    await live(runtime).staff_present(org.id, str(org.staff.user_id))
    cid, token = await start_conversation(runtime, org)
    body = (
        await client.post(f"/api/v1/conversations/{cid}/handoff", headers=customer_headers(org, token))
    ).json()
    assert body["staff_online"] is True


@pytest.mark.parametrize(("remove_branding", "shown"), [(False, True), (True, False)])
async def test_widget_branding_follows_the_plan(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime, remove_branding: bool, shown: bool
) -> None:
    org = await make_org(db)
    await put_on_plan(
        db, runtime.settings, org, f"plan-{uuid.uuid4().hex[:6]}", feature_remove_branding=remove_branding
    )
    public = await make_key(db, org, ApiKeyKind.public, origins=[ORIGIN])
    config = (
        await client.get(
            "/api/v1/widget/config", headers={"Authorization": f"Bearer {public}", "Origin": ORIGIN}
        )
    ).json()
    assert config["powered_by_url"] == ("http://testserver" if shown else None)


async def test_a_document_too_big_for_the_room_left_fails_with_the_reason(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org = await make_org(db)
    await put_on_plan(db, runtime.settings, org, chunks_limit=3)
    headers = bearer(await make_key(db, org))
    guide = "\n\n".join(
        f"## Step {n}\n\n" + f"Sentence number {n} about mail settings. " * 40 for n in range(8)
    )
    accepted = await client.post(
        "/api/v1/knowledge/documents",
        headers=headers,
        files={"file": ("guide.md", f"# Guide\n\n{guide}".encode(), "text/markdown")},
    )
    assert accepted.status_code == 202, accepted.text
    await runtime.jobs.drain(timeout=120)  # type: ignore[attr-defined] - the in-process queue
    doc = (await client.get(f"/api/v1/knowledge/documents/{accepted.json()['id']}", headers=headers)).json()
    assert doc["status"] == "failed"
    assert "leaves room for 3" in doc["error"] and "upgrade your plan" in doc["error"]
    usage = (await client.get("/api/v1/billing/usage", headers=headers)).json()
    assert usage["chunks_used"] == 0
