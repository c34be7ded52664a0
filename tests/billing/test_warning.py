"""At 80 % of the AI answers: a banner for admins and one e-mail per period; at 100 %, the banner says so."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from answerdesk.auth.models import Role
from answerdesk.billing.service import AnswerQuota
from answerdesk.runtime import Runtime
from tests.billing.support import put_on_plan
from tests.conftest import app_client, make_settings, started_app
from tests.factories import logged_in, make_member, make_org
from tests.fakes.smtp_server import SmtpServer

WARNING = "of this period's AI answers used"
STOPPED = "The bot has stopped answering"


@pytest.fixture
async def mail_app(database_url: str, tmp_path: Path, smtp: SmtpServer) -> AsyncIterator[FastAPI]:
    settings = make_settings(database_url, tmp_path / "data", **smtp.settings("billing@host.example"))
    async with started_app(settings) as application:
        yield application


async def answer(runtime: Runtime, quota: AnswerQuota, organization_id: object, times: int) -> None:
    for _ in range(times):
        assert await quota.reserve(organization_id) is not None  # type: ignore[arg-type]
    await runtime.jobs.drain(timeout=30)  # type: ignore[attr-defined] - the in-process queue


async def test_admins_are_mailed_once_and_see_the_banner(mail_app: FastAPI, smtp: SmtpServer) -> None:
    runtime: Runtime = mail_app.state.runtime
    async with runtime.sessionmaker() as db:
        org = await make_org(db, "Blue Hosting")
        first = await make_member(db, org, email="ops@blue.example")
        await make_member(db, org, email="boss@blue.example")
        staff = await make_member(db, org, role=Role.staff, email="agent@blue.example")
        await put_on_plan(db, runtime.settings, org, answers_per_month=5)
    quota = AnswerQuota(runtime.sessionmaker, runtime.settings, runtime.jobs)

    async with app_client(mail_app) as client:
        admin = await logged_in(client, first.user.email)
        await answer(runtime, quota, org.id, 3)  # 60 %
        assert smtp.fake.received == []
        assert WARNING not in (await admin.client.get("/admin")).text

        await answer(runtime, quota, org.id, 1)  # 80 %
        assert sorted(r.recipients[0] for r in smtp.fake.received) == [
            "boss@blue.example",
            "ops@blue.example",
        ]
        mail = smtp.fake.received[0].message
        assert mail["Subject"] == "Blue Hosting: 80% of this period's AI answers used"
        body = mail.get_content()
        assert "4 of the 5 AI answers" in body and "http://testserver/admin/billing" in body
        page = (await admin.client.get("/admin/knowledge")).text
        assert "80% " + WARNING in page and 'href="/admin/billing"' in page

        await answer(runtime, quota, org.id, 1)  # 100 %: no second e-mail this period
        assert len(smtp.fake.received) == 2
        assert STOPPED in (await admin.client.get("/admin")).text

    async with app_client(mail_app, ip="203.0.113.30") as other:
        agent = await logged_in(other, staff.user.email)
        page = (await agent.client.get("/admin")).text
        assert STOPPED not in page and WARNING not in page  # staff cannot change the plan


async def test_without_smtp_only_the_banner_warns(
    client: httpx.AsyncClient, runtime: Runtime, smtp: SmtpServer
) -> None:
    async with runtime.sessionmaker() as db:
        org = await make_org(db)
        admin = await make_member(db, org)
        await put_on_plan(db, runtime.settings, org, answers_per_month=1)
    await answer(runtime, AnswerQuota(runtime.sessionmaker, runtime.settings, runtime.jobs), org.id, 1)
    assert smtp.fake.received == []
    session = await logged_in(client, admin.user.email)
    assert STOPPED in (await session.client.get("/admin")).text


async def test_unlimited_plans_never_warn(
    client: httpx.AsyncClient, runtime: Runtime, smtp: SmtpServer
) -> None:
    async with runtime.sessionmaker() as db:
        org = await make_org(db)  # the default plan: unlimited
        admin = await make_member(db, org)
    await answer(runtime, AnswerQuota(runtime.sessionmaker, runtime.settings, runtime.jobs), org.id, 3)
    session = await logged_in(client, admin.user.email)
    page = (await session.client.get("/admin")).text
    assert STOPPED not in page and WARNING not in page
