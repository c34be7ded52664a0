"""Background jobs: tell an organization's admins that its AI answers are running out."""

from __future__ import annotations

import uuid
from datetime import datetime

import structlog

from answerdesk.auth.models import Role
from answerdesk.auth.service import MemberService
from answerdesk.billing.schemas import UsageRead
from answerdesk.billing.service import WARN_TASK, BillingService
from answerdesk.integrations.mail.smtp import MailError, OutgoingMail, SmtpMailer
from answerdesk.kit.db import session_scope
from answerdesk.kit.jobs import JobContext, task
from answerdesk.tenants.service import OrganizationService

log = structlog.get_logger(__name__)


@task(WARN_TASK, retries=0, timeout_seconds=120)
async def warn_usage(ctx: JobContext, *, organization_id: str, period_start: str) -> None:
    """One e-mail to each active admin, once per period (the usage row's warned_at chose the sender).

    No retries: a second run could mail the admins who already got it; a failure is logged instead."""
    runtime = ctx.runtime
    mailer = SmtpMailer.from_settings(runtime.settings)
    if mailer is None:
        return  # no SMTP configured: the admin banner is the only warning
    org_id = uuid.UUID(organization_id)
    async with session_scope(runtime.sessionmaker) as db:
        org = await OrganizationService(db).get(org_id)
        usage = await BillingService(db, runtime.settings).usage(org)
        members = await MemberService(db).list(org_id)
        admins = [
            (m.user.email, m.user.name)
            for m in members
            if m.role == Role.admin and m.is_active and m.user.is_active
        ]
        org_name = org.name
    if usage.period_start != datetime.fromisoformat(period_start) or usage.answers_limit is None:
        return  # the period ended or the plan changed since: nothing to warn about any more
    subject, body = usage_warning_text(org_name, usage, runtime.settings.base_url)
    for email, name in admins:
        mail = OutgoingMail(to_address=email, to_name=name, subject=subject, body=body)
        try:
            await mailer.send(mail)
        except MailError as exc:
            log.warning("billing.warning_mail_failed", organization_id=organization_id, error=exc.message)


def usage_warning_text(org_name: str, usage: UsageRead, base_url: str) -> tuple[str, str]:
    """The warning's subject and plain-text body."""
    limit = usage.answers_limit or 0
    percent = round(100 * usage.answers_used / limit) if limit else 100
    return (
        f"{org_name}: {percent}% of this period's AI answers used",
        (
            f"Hello,\n\n{org_name} has used {usage.answers_used:,} of the {limit:,} AI answers its "
            f"{usage.plan} plan includes this period (until {usage.period_end:%d %B %Y}).\n\n"
            "When they are used up, the bot stops answering and offers your customers a person or a message "
            "form instead, until the next period starts.\n\n"
            f"See your usage or change your plan: {base_url.rstrip('/')}/admin/billing\n\n"
            "— Answerdesk\n"
        ),
    )
