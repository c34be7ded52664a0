"""Knowledge gaps in the admin: the page, the FAQ form drafted by the model (a draft to check), saving it,
who may do what, and the weekly e-mail switch."""

from __future__ import annotations

import html
import re

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import Role
from answerdesk.gaps.digest import weekly_email_on
from answerdesk.runtime import Runtime
from answerdesk.tenants.service import OrganizationService
from tests.chat.support import make_chat
from tests.factories import logged_in, make_member, page_csrf
from tests.fakes.openai_server import FakeOpenAIServer
from tests.gaps.support import PAYPAL, WINDOWS, ask_all

PAGE = "/admin/gaps"


def text_of(page: str) -> str:
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", page).split()))


async def test_admin_writes_an_faq_from_the_models_draft_and_the_group_is_answered(
    llm_client: httpx.AsyncClient, db: AsyncSession, llm_runtime: Runtime, fake_openai: FakeOpenAIServer
) -> None:
    chat = await make_chat(llm_client, db, llm_runtime, seed=False)
    org = await OrganizationService(db).get(chat.organization_id)
    await ask_all(chat, [*WINDOWS, *PAYPAL])
    admin = await make_member(db, org, Role.admin)
    await logged_in(llm_client, admin.user.email)

    page = await llm_client.get(PAGE)
    assert page.status_code == 200
    shown = text_of(page.text)
    assert "5 questions in 2 groups" in shown
    groups = re.findall(
        r'<article class="card gap" data-testid="gap-group" data-status="(\w+)">(.*?)</article>',
        page.text,
        re.S,
    )
    assert [status for status, _ in groups] == ["open", "open"]
    assert "3 customers" in text_of(groups[0][1]) and "Refused 3" in text_of(groups[0][1])
    link = re.search(r'href="(/admin/gaps/[0-9a-f-]+/faq\?days=30)"', groups[1][1])
    assert link is not None

    fake_openai.reply = "Yes, we accept PayPal at checkout for [which products]."
    form = await llm_client.get(html.unescape(link.group(1)))
    assert form.status_code == 200
    # No staff reply in those chats: the model drafts, and the page says it is a draft to check.
    assert "Draft to check." in form.text and "[placeholder]" in form.text
    assert "Yes, we accept PayPal at checkout for [which products]." in html.unescape(form.text)
    prompt = fake_openai.last_request.body["messages"][-1]["content"]
    assert any(q in prompt for q in PAYPAL)
    ids = re.findall(r'name="message_id" value="([0-9a-f-]+)"', form.text)
    assert len(ids) == 2
    question = html.unescape(
        re.search(r'id="faq-question" name="question"[^>]* value="([^"]*)"', form.text).group(1)
    )  # type: ignore[union-attr]
    assert question in PAYPAL

    action = re.search(r'<form method="post" action="(/admin/gaps/[^"]+/faq)"', form.text).group(1)  # type: ignore[union-attr]
    empty = await llm_client.post(
        action, data={"csrf_token": page_csrf(form.text), "question": "", "answer": "", "message_id": ids}
    )
    assert empty.status_code == 422 and "Write a question" in empty.text  # the form again, ids kept
    assert re.findall(r'name="message_id" value="([0-9a-f-]+)"', empty.text) == ids
    saved = await llm_client.post(
        action,
        data={
            "csrf_token": page_csrf(form.text),
            "question": question,
            "answer": "Yes, we accept PayPal at checkout.",
            "tags": "billing",
            "message_id": ids,
        },
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/admin/gaps?days=30"
    after = await llm_client.get(PAGE)
    assert "group marked answered" in text_of(after.text)
    statuses = re.findall(r'data-testid="gap-group" data-status="(\w+)"', after.text)
    assert statuses == ["open", "answered"]
    assert "Answered by an FAQ entry" in text_of(after.text)
    (faq,) = (await llm_client.get("/api/v1/knowledge/documents?source=faq")).json()
    assert faq["question"] == question and sorted(faq["tags"]) == ["billing", "from-gaps"]


async def test_staff_see_gaps_but_only_admins_write_faqs_or_change_the_email(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    chat = await make_chat(client, db, runtime, seed=False)
    org = await OrganizationService(db).get(chat.organization_id)
    await ask_all(chat, WINDOWS[:1])
    staff = await make_member(db, org, Role.staff)
    session = await logged_in(client, staff.user.email)
    page = await client.get(PAGE)
    assert page.status_code == 200 and "Do you offer Windows VPS?" in page.text
    assert "Write FAQ entry" not in page.text and "weekly_email" not in page.text
    key = re.search(r'href="/admin/chats/([0-9a-f-]+)"', page.text)
    assert key is not None  # examples link to their transcripts
    denied = await client.post(f"{PAGE}/settings", data={"csrf_token": session.csrf, "weekly_email": "on"})
    assert denied.status_code == 403
    assert (await client.get(f"{PAGE}/not-a-uuid/faq")).status_code == 403  # staff: refused before lookup

    admin = await make_member(db, org, Role.admin)
    client.cookies.clear()
    session = await logged_in(client, admin.user.email)
    assert (await client.get(f"{PAGE}/not-a-uuid/faq")).status_code == 404
    on = await client.post(f"{PAGE}/settings", data={"csrf_token": session.csrf, "weekly_email": "on"})
    assert on.status_code == 303
    await db.refresh(org)
    assert weekly_email_on(org.settings)
    page = await client.get(PAGE)
    assert "Weekly knowledge-gap e-mails to admins are on." in page.text
    assert re.search(r'name="weekly_email" role="switch" checked', page.text)
    off = await client.post(f"{PAGE}/settings", data={"csrf_token": session.csrf})
    assert off.status_code == 303
    await db.refresh(org)
    assert not weekly_email_on(org.settings)
    assert (await client.get(f"{PAGE}?days=nonsense")).status_code == 200  # a bad window falls back
