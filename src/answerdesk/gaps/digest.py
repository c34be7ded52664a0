"""The weekly knowledge-gaps e-mail to an organization's admins (opt-in per organization)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import Role
from answerdesk.auth.service import MemberService
from answerdesk.gaps.schemas import GapStatus
from answerdesk.gaps.service import GapGroup, GapService, examples_of
from answerdesk.integrations.mail.smtp import Mailer, MailError, OutgoingMail, SmtpMailer
from answerdesk.kit.db import session_scope, utcnow
from answerdesk.runtime import Runtime
from answerdesk.tenants.models import Organization
from answerdesk.tenants.service import OrganizationService

log = structlog.get_logger(__name__)

SETTINGS_GROUP = "gaps"
EVERY = timedelta(days=7)
TOP_GROUPS = 5
REASON_WORDS = {"refused": "refused", "handed_off": "handed off", "unhelpful": "rated unhelpful"}


def digest_settings(org_settings: dict[str, Any] | None) -> dict[str, Any]:
    group = (org_settings or {}).get(SETTINGS_GROUP)
    return dict(group) if isinstance(group, dict) else {}


def weekly_email_on(org_settings: dict[str, Any] | None) -> bool:
    return bool(digest_settings(org_settings).get("weekly_email"))


def last_sent(org_settings: dict[str, Any] | None) -> datetime | None:
    value = digest_settings(org_settings).get("last_digest_at")
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


async def set_weekly_email(db: AsyncSession, organization_id: uuid.UUID, enabled: bool) -> None:
    org = await OrganizationService(db).get(organization_id)
    org.settings = {
        **(org.settings or {}),
        SETTINGS_GROUP: {**digest_settings(org.settings), "weekly_email": enabled},
    }
    await db.flush()


def _mark_sent(org: Organization, at: datetime) -> None:
    org.settings = {
        **(org.settings or {}),
        SETTINGS_GROUP: {**digest_settings(org.settings), "last_digest_at": at.isoformat()},
    }


def digest_text(org_name: str, groups: list[GapGroup], admin_url: str) -> str:
    lines = [
        f"The questions your assistant could not answer well in the last 7 days at {org_name}, "
        "most asked first:",
        "",
    ]
    for n, group in enumerate(groups, 1):
        customers = f"{group.customers} customer{'s' if group.customers != 1 else ''}"
        counts: dict[str, int] = {}
        for q in group.questions:
            for reason in q.reasons:
                counts[reason] = counts.get(reason, 0) + 1
        why = ", ".join(f"{REASON_WORDS.get(r, r)} {c}" for r, c in sorted(counts.items()))
        lines.append(f'{n}. "{group.question}": {customers} ({why})')
        others = [q.text for q in examples_of(group.questions) if q.message_id != group.key][:2]
        if others:
            lines.append("   Also asked: " + "; ".join(f'"{t}"' for t in others))
    lines += [
        "",
        f"Turn a group into an FAQ entry in one click: {admin_url}",
        "",
        "You get this e-mail because weekly knowledge-gap e-mails are on for your organization; "
        "an admin can turn them off on the same page.",
    ]
    return "\n".join(lines)


async def send_due_digests(
    runtime: Runtime, *, now: datetime | None = None, mailer: Mailer | None = None
) -> int:
    """Mails every organization that opted in and was not mailed in the last 7 days; the number mailed.

    Each organization is its own transaction: one failing mail server answer does not stop the others,
    and an organization is marked sent only once its mails left (a failed one is tried next hour)."""
    now = now or utcnow()
    mailer = mailer or SmtpMailer.from_settings(runtime.settings)
    async with session_scope(runtime.sessionmaker) as db:
        due = [
            org.id
            for org in await OrganizationService(db).list()
            if weekly_email_on(org.settings)
            and ((sent := last_sent(org.settings)) is None or now - sent >= EVERY)
        ]
    if due and mailer is None:
        log.warning("gaps.digest_without_smtp", organizations=len(due))
        return 0
    mailed = 0
    for organization_id in due:
        assert mailer is not None
        try:
            if await _send_one(runtime, mailer, organization_id, now):
                mailed += 1
        except MailError as exc:
            log.warning("gaps.digest_failed", organization_id=str(organization_id), error=exc.message)
    return mailed


async def _send_one(runtime: Runtime, mailer: Mailer, organization_id: uuid.UUID, now: datetime) -> bool:
    async with session_scope(runtime.sessionmaker) as db:
        org = await OrganizationService(db).get(organization_id)
        report = await GapService(runtime).report(db, organization_id, days=7, now=now)
        groups = [g for g in report.groups if g.status == GapStatus.open][:TOP_GROUPS]
        admins = [
            (m.user.email, m.user.name)
            for m in await MemberService(db).list(organization_id)
            if m.role == Role.admin and m.is_active and m.user.is_active
        ]
        subject = f"Knowledge gaps this week: {org.name}"
        body = digest_text(org.name, groups, f"{runtime.settings.base_url.rstrip('/')}/admin/gaps")
    # Sent outside any database session: a slow or failing mail server holds no connection.
    if groups:
        for email, name in admins:
            await mailer.send(OutgoingMail(to_address=email, to_name=name, subject=subject, body=body))
    async with session_scope(runtime.sessionmaker) as db:
        # A quiet week is a week too: nothing to say is not tried again every hour.
        _mark_sent(await OrganizationService(db).get(organization_id), now)
    log.info("gaps.digest", organization_id=str(organization_id), groups=len(groups), admins=len(admins))
    return bool(groups and admins)
