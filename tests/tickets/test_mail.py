"""Native tickets' replies e-mailed over SMTP (a real server on 127.0.0.1): once, or failed and retryable."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.kit.db import session_scope
from answerdesk.runtime import Runtime
from answerdesk.tickets.mail import reply_subject
from answerdesk.tickets.models import DraftStatus
from answerdesk.tickets.sending import Approver, approve, deliver
from tests.conftest import app_client, make_settings, started_app
from tests.fakes.smtp_server import USERNAME, SmtpServer
from tests.tickets.native import native_ticket
from tests.tickets.support import API, api_json, drafts_of, make_tenant, messages_of


def mail_settings(database_url: str, data_dir: Path, smtp: SmtpServer, **overrides: object) -> object:
    return make_settings(database_url, data_dir, **{**smtp.settings("support@host.example"), **overrides})


@pytest.fixture
async def mail_app(database_url: str, tmp_path: Path, smtp: SmtpServer) -> AsyncIterator[FastAPI]:
    async with started_app(mail_settings(database_url, tmp_path / "data", smtp)) as application:  # type: ignore[arg-type]
        yield application


@pytest.fixture
def mail_runtime(mail_app: FastAPI) -> Runtime:
    rt: Runtime = mail_app.state.runtime
    return rt


@pytest.fixture
async def mail_client(mail_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(mail_app) as c:
        yield c


def test_reply_subject_keeps_one_re() -> None:
    assert reply_subject("Mail not arriving", "N000123") == "Re: Mail not arriving [#N000123]"
    assert reply_subject("RE: re: Mail", "7") == "Re: Mail [#7]"


async def test_reply_is_emailed_once_with_subject_and_ticket_number(
    mail_client: httpx.AsyncClient, mail_runtime: Runtime, smtp: SmtpServer
) -> None:
    async with mail_runtime.sessionmaker() as db:
        org = await make_tenant(db)
    ticket = await native_ticket(mail_runtime, org.id)
    sent = await api_json(
        await mail_client.post(
            f"{API}/{ticket.id}/reply",
            headers=org.headers,
            json={"text": "Your mailbox was full; we raised it."},
        )
    )
    assert sent["status"] == "sent" and sent["error"] is None and sent["send_attempts"] == 1
    (mail,) = smtp.fake.received
    assert mail.recipients == ["john@acme-shop.com"]
    assert mail.login == USERNAME
    assert mail.message["Subject"] == f"Re: Mail not arriving [#{ticket.tid}]"
    assert mail.message["To"] == "John Smith <john@acme-shop.com>"
    assert mail.message["From"] == "support@host.example"
    assert mail.message["Message-ID"] == f"<reply-{sent['id']}@answerdesk>"
    assert mail.message.get_content().strip() == "Your mailbox was full; we raised it."
    thread = await messages_of(mail_runtime, ticket.id)
    assert [m.author for m in thread] == ["customer", "staff"]
    # Delivering the same draft again (a retried job) sends nothing more.
    again = await deliver(mail_runtime, org.id, uuid.UUID(sent["id"]))
    assert again.status == DraftStatus.sent and len(smtp.fake.received) == 1


async def test_refused_recipient_fails_readably_keeps_the_text_and_a_retry_sends_once(
    mail_client: httpx.AsyncClient, mail_runtime: Runtime, smtp: SmtpServer
) -> None:
    async with mail_runtime.sessionmaker() as db:
        org = await make_tenant(db)
    ticket = await native_ticket(mail_runtime, org.id)
    smtp.fake.refuse_recipient = True
    failed = await api_json(
        await mail_client.post(f"{API}/{ticket.id}/reply", headers=org.headers, json={"text": "Fixed it."})
    )
    assert failed["status"] == "failed" and failed["final_text"] == "Fixed it."
    assert "refused" in failed["error"] and "550" in failed["error"]
    assert smtp.fake.received == []
    # Not in the thread, and the ticket still waits for a reply.
    assert [m.author for m in await messages_of(mail_runtime, ticket.id)] == ["customer"]
    smtp.fake.refuse_recipient = False
    retried = await api_json(
        await mail_client.post(
            f"{API}/{ticket.id}/approve", headers=org.headers, json={"draft_id": failed["id"]}
        )
    )
    assert retried["status"] == "sent" and retried["send_attempts"] == 2
    (mail,) = smtp.fake.received
    assert mail.message.get_content().strip() == "Fixed it."
    detail = await api_json(await mail_client.get(f"{API}/{ticket.id}", headers=org.headers))
    assert detail["awaiting_reply"] is False and detail["status"] == "waiting_for_customer"


async def test_rejected_message_is_a_failure_not_a_send(
    mail_client: httpx.AsyncClient, mail_runtime: Runtime, smtp: SmtpServer
) -> None:
    async with mail_runtime.sessionmaker() as db:
        org = await make_tenant(db)
    ticket = await native_ticket(mail_runtime, org.id)
    smtp.fake.refuse_data = True
    failed = await api_json(
        await mail_client.post(f"{API}/{ticket.id}/reply", headers=org.headers, json={"text": "Hello"})
    )
    assert failed["status"] == "failed" and "554" in failed["error"]


async def test_unreachable_server_fails_with_the_address(
    database_url: str, tmp_path: Path, smtp: SmtpServer
) -> None:
    closed = SmtpServer(smtp.fake, "127.0.0.1", 9)  # the discard port: nothing listens there
    settings = mail_settings(database_url, tmp_path / "data", closed)
    async with started_app(settings) as application, app_client(application) as client:  # type: ignore[arg-type]
        runtime: Runtime = application.state.runtime
        async with runtime.sessionmaker() as db:
            org = await make_tenant(db)
        ticket = await native_ticket(runtime, org.id)
        failed = await api_json(
            await client.post(f"{API}/{ticket.id}/reply", headers=org.headers, json={"text": "Hi"})
        )
    assert failed["status"] == "failed"
    assert "Could not reach the mail server 127.0.0.1:9" in failed["error"]


async def test_wrong_smtp_password_is_named(database_url: str, tmp_path: Path, smtp: SmtpServer) -> None:
    settings = mail_settings(database_url, tmp_path / "data", smtp, smtp_password="wrong")
    async with started_app(settings) as application, app_client(application) as client:  # type: ignore[arg-type]
        runtime: Runtime = application.state.runtime
        async with runtime.sessionmaker() as db:
            org = await make_tenant(db)
        ticket = await native_ticket(runtime, org.id)
        failed = await api_json(
            await client.post(f"{API}/{ticket.id}/reply", headers=org.headers, json={"text": "Hi"})
        )
    assert failed["status"] == "failed" and "username or password" in failed["error"]
    assert smtp.fake.received == []


async def test_interrupted_attempt_is_not_resent_by_itself(mail_runtime: Runtime, smtp: SmtpServer) -> None:
    """A crash after counting the attempt: recovery fails the draft instead of risking a second e-mail."""
    async with mail_runtime.sessionmaker() as db:
        org = await make_tenant(db)
    ticket = await native_ticket(mail_runtime, org.id)
    async with session_scope(mail_runtime.sessionmaker) as db:
        draft = await approve(db, mail_runtime, org.id, ticket.id, Approver("a@x.example"), text="Done.")
        draft.send_attempts = 1  # as if the process died while the mail was in flight
    recovered = await deliver(mail_runtime, org.id, draft.id)
    assert recovered.status == DraftStatus.failed and "may have reached the customer" in (
        recovered.error or ""
    )
    assert smtp.fake.received == []
    # Approving again is the explicit decision to send: exactly one e-mail.
    async with session_scope(mail_runtime.sessionmaker) as db:
        await approve(db, mail_runtime, org.id, ticket.id, Approver("a@x.example"), draft_id=draft.id)
    sent = await deliver(mail_runtime, org.id, draft.id)
    assert sent.status == DraftStatus.sent and len(smtp.fake.received) == 1


async def test_without_smtp_the_reply_is_only_stored(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime, smtp: SmtpServer
) -> None:
    org = await make_tenant(db)
    ticket = await native_ticket(runtime, org.id)
    sent = await api_json(
        await client.post(f"{API}/{ticket.id}/reply", headers=org.headers, json={"text": "Stored only."})
    )
    assert sent["status"] == "sent"
    assert smtp.fake.received == []
    (draft,) = await drafts_of(runtime, ticket.id)
    assert draft.final_text == "Stored only."
