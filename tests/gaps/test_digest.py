"""The weekly knowledge-gaps e-mail: opt-in per organization, to active admins, weekly, over real SMTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import Role
from answerdesk.gaps.digest import last_sent, send_due_digests, set_weekly_email
from answerdesk.integrations.mail.smtp import SmtpMailer
from answerdesk.kit.db import session_scope, utcnow
from answerdesk.runtime import Runtime
from answerdesk.tenants.service import OrganizationService
from tests.chat.support import make_chat
from tests.conftest import app_client, make_settings, started_app
from tests.factories import make_member
from tests.fakes.smtp_server import SmtpServer
from tests.gaps.support import PAYPAL, WINDOWS, ask_all


@pytest.fixture
async def mail_app(database_url: str, tmp_path: Path, smtp: SmtpServer) -> AsyncIterator[FastAPI]:
    settings = make_settings(
        database_url,
        tmp_path / "data",
        **smtp.settings("answerdesk@host.example"),
        base_url="https://desk.example.com",
    )
    async with started_app(settings) as application:
        yield application


async def test_opted_in_admins_get_the_top_gaps_once_a_week(
    mail_app: FastAPI, db: AsyncSession, smtp: SmtpServer
) -> None:
    runtime: Runtime = mail_app.state.runtime
    async with app_client(mail_app) as client:
        chat = await make_chat(client, db, runtime, seed=False)
        await ask_all(chat, [*WINDOWS, *PAYPAL])
        quiet = await make_chat(client, db, runtime, seed=False)  # asked nothing
        await ask_all(quiet, [])
        other = await make_chat(client, db, runtime, seed=False)  # gaps, but no e-mail wanted
        await ask_all(other, WINDOWS)
    org = await OrganizationService(db).get(chat.organization_id)
    admin = await make_member(db, org, Role.admin, email="boss@example.com")
    await make_member(db, org, Role.staff, email="agent@example.com")
    retired = await make_member(db, org, Role.admin, email="gone@example.com")
    retired.is_active = False
    await make_member(db, await OrganizationService(db).get(other.organization_id), Role.admin)
    await make_member(db, await OrganizationService(db).get(quiet.organization_id), Role.admin)
    async with session_scope(runtime.sessionmaker) as session:
        await set_weekly_email(session, org.id, True)
        await set_weekly_email(session, quiet.organization_id, True)
    await db.commit()

    assert await send_due_digests(runtime) == 1
    (mail,) = smtp.fake.received
    assert mail.recipients == [admin.user.email]
    assert mail.message["Subject"] == f"Knowledge gaps this week: {org.name}"
    body = mail.message.get_content()
    windows_at, paypal_at = body.index("3 customers"), body.index("2 customers")
    assert windows_at < paypal_at  # most asked first
    assert "refused 3" in body and "https://desk.example.com/admin/gaps" in body
    async with session_scope(runtime.sessionmaker) as session:
        for org_id in (org.id, quiet.organization_id):  # a quiet week counts as sent too
            assert last_sent((await OrganizationService(session).get(org_id)).settings) is not None

    # Within the week nothing more is sent; a week later it is.
    assert await send_due_digests(runtime, now=utcnow() + timedelta(days=6)) == 0
    assert len(smtp.fake.received) == 1
    later = utcnow() + timedelta(days=7, minutes=1)
    # A week on, the questions are older than the 7-day window: nothing to say, so no e-mail.
    assert await send_due_digests(runtime, now=later) == 0
    assert len(smtp.fake.received) == 1


async def test_a_refused_mail_is_tried_again_and_no_smtp_sends_nothing(
    mail_app: FastAPI, db: AsyncSession, smtp: SmtpServer, client: httpx.AsyncClient, runtime: Runtime
) -> None:
    mail_runtime: Runtime = mail_app.state.runtime
    async with app_client(mail_app) as mail_client:
        chat = await make_chat(mail_client, db, mail_runtime, seed=False)
        await ask_all(chat, WINDOWS)
    org = await OrganizationService(db).get(chat.organization_id)
    await make_member(db, org, Role.admin)
    async with session_scope(mail_runtime.sessionmaker) as session:
        await set_weekly_email(session, org.id, True)

    # The app without SMTP settings (the `runtime` fixture) cannot send: nothing is marked sent.
    assert await send_due_digests(runtime) == 0
    smtp.fake.refuse_data = True
    assert await send_due_digests(mail_runtime) == 0
    async with session_scope(mail_runtime.sessionmaker) as session:
        assert last_sent((await OrganizationService(session).get(org.id)).settings) is None
    smtp.fake.refuse_data = False
    assert await send_due_digests(mail_runtime, mailer=SmtpMailer.from_settings(mail_runtime.settings)) == 1
    assert len(smtp.fake.received) == 1
