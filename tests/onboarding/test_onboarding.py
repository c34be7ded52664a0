"""The getting-started checklist ticks itself from what the organization really did, for admins only."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import Role
from answerdesk.kit.db import session_scope
from answerdesk.knowledge.service import KnowledgeService
from answerdesk.runtime import Runtime
from tests.factories import logged_in, make_member, make_org
from tests.fakes.whmcs_server import FakeWhmcs, serve_fake_whmcs
from tests.tickets.support import connect

HX = {"HX-Request": "true"}


def done_steps(html: str) -> set[str]:
    return {
        part.split('"', 1)[0]
        for part in html.split('data-step="')[1:]
        if 'data-done="true"' in part.split(">", 1)[0]
    }


async def test_checklist_follows_real_state(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime, new_client: object
) -> None:
    org = await make_org(db, "Fresh Co")
    other = await make_org(db, "Busy Co")
    await make_member(db, org, Role.admin, email="admin@fresh.example")
    await make_member(db, org, Role.staff, email="staff@fresh.example")
    admin = await logged_in(client, "admin@fresh.example")

    dashboard = await client.get("/admin")
    assert 'hx-get="/admin/onboarding"' in dashboard.text
    first = await client.get("/admin/onboarding", headers=HX)
    assert first.status_code == 200 and "0 of 4 done" in first.text and done_steps(first.text) == set()

    # Another organization's documents and connections do not tick this one's steps.
    async with session_scope(runtime.sessionmaker) as s:
        await KnowledgeService.of(s, runtime).upload(other.id, filename="other.md", data=b"# Other\n\ntext")
    assert done_steps((await client.get("/admin/onboarding")).text) == set()

    async with session_scope(runtime.sessionmaker) as s:
        await KnowledgeService.of(s, runtime).upload(org.id, filename="faq.md", data=b"# FAQ\n\nWe answer.")
    assert done_steps((await client.get("/admin/onboarding")).text) == {"knowledge"}

    started = await client.post("/admin/ai/playground/conversations", headers=admin.headers())
    assert started.status_code == 201
    conversation = started.json()["id"]
    sent = await client.post(
        f"/admin/ai/playground/conversations/{conversation}/messages",
        data={"content": "How do I reset my password?"},
        headers=admin.headers(),
    )
    assert sent.status_code == 200
    assert done_steps((await client.get("/admin/onboarding")).text) == {"knowledge", "playground"}

    copied = await client.post("/admin/onboarding/events/widget_snippet_copied", headers=admin.headers())
    assert copied.status_code == 204
    assert (
        await client.post("/admin/onboarding/events/widget_snippet_copied", headers=admin.headers())
    ).status_code == 204
    bogus = await client.post("/admin/onboarding/events/made_up", headers=admin.headers())
    assert bogus.status_code == 422
    assert done_steps((await client.get("/admin/onboarding")).text) == {"knowledge", "playground", "widget"}

    with serve_fake_whmcs(FakeWhmcs()) as whmcs:
        await connect(runtime, org.id, whmcs)
    # Complete: the checklist is gone for good.
    complete = await client.get("/admin/onboarding")
    assert complete.status_code == 200 and complete.text == ""

    staff = new_client()  # type: ignore[operator]
    await logged_in(staff, "staff@fresh.example")
    assert (await staff.get("/admin/onboarding")).status_code == 403
    assert 'hx-get="/admin/onboarding"' not in (await staff.get("/admin")).text


async def test_dismissed_checklist_stays_away(client: httpx.AsyncClient, db: AsyncSession) -> None:
    org = await make_org(db, "Busy Admins")
    await make_member(db, org, Role.admin, email="admin@busy.example")
    admin = await logged_in(client, "admin@busy.example")
    assert "0 of 4 done" in (await client.get("/admin/onboarding")).text
    forged = await client.post("/admin/onboarding/dismiss", headers={"X-CSRF-Token": "nope"})
    assert forged.status_code == 403
    dismissed = await client.post("/admin/onboarding/dismiss", headers=admin.headers())
    assert dismissed.status_code == 200 and dismissed.text == ""
    assert (await client.get("/admin/onboarding")).text == ""
