"""Background jobs: tell an organization's admins that its AI answers are running out."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import structlog

from answerdesk.auth.models import Role
from answerdesk.auth.service import MemberService
from answerdesk.billing.repository import StripeEventRepository
from answerdesk.billing.schemas import UsageRead
from answerdesk.billing.service import WARN_TASK, BillingService
from answerdesk.billing.stripe_service import GRACE_TASK, NOTICE_TASK, end_grace_periods
from answerdesk.integrations.mail.smtp import MailError, OutgoingMail, SmtpMailer
from answerdesk.kit.db import session_scope, utcnow
from answerdesk.kit.jobs import JobContext, periodic, task
from answerdesk.tenants.service import OrganizationService

log = structlog.get_logger(__name__)
EVENT_MEMORY = timedelta(days=30)


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


@task(NOTICE_TASK, retries=0, timeout_seconds=120)
async def send_notice(ctx: JobContext, *, organization_id: str, kind: str, plan: str, until: str) -> None:
    """Tells each active admin what a billing event did (payment failed, plan taken away, back, ...).

    No retries: a second run could mail the admins who already got it; a failure is logged instead."""
    runtime = ctx.runtime
    mailer = SmtpMailer.from_settings(runtime.settings)
    if mailer is None:
        log.info("billing.notice_not_mailed", organization_id=organization_id, kind=kind, reason="no SMTP")
        return
    org_id = uuid.UUID(organization_id)
    async with session_scope(runtime.sessionmaker) as db:
        org = await OrganizationService(db).get(org_id)
        members = await MemberService(db).list(org_id)
        admins = [
            (m.user.email, m.user.name)
            for m in members
            if m.role == Role.admin and m.is_active and m.user.is_active
        ]
        org_name = org.name
    subject, body = notice_text(
        kind, org_name, plan, datetime.fromisoformat(until) if until else None, runtime.settings.base_url
    )
    for email, name in admins:
        try:
            await mailer.send(OutgoingMail(to_address=email, to_name=name, subject=subject, body=body))
        except MailError as exc:
            log.warning("billing.notice_mail_failed", organization_id=organization_id, error=exc.message)


def notice_text(
    kind: str, org_name: str, plan: str, until: datetime | None, base_url: str
) -> tuple[str, str]:
    """A billing notice's subject and plain-text body."""
    link = f"{base_url.rstrip('/')}/admin/billing"
    day = f"{until:%d %B %Y}" if until else "soon"
    texts = {
        "payment_failed": (
            f"{org_name}: your payment failed",
            f"Hello,\n\nThe last payment for {org_name}'s Answerdesk subscription failed. Stripe will try "
            f"again; your plan stays as it is until {day}.\n\nPlease update your card under Manage billing: "
            f"{link}\n\nIf it is still unpaid by then, {org_name} moves to the Free plan.\n\n— Answerdesk\n",
        ),
        "payment_recovered": (
            f"{org_name}: payment received",
            f"Hello,\n\nThank you: the payment for {org_name}'s {plan} plan went through, and the plan "
            f"is in good standing again.\n\n{link}\n\n— Answerdesk\n",
        ),
        "downgraded": (
            f"{org_name} is now on the Free plan",
            f"Hello,\n\nThe subscription of {org_name} stayed unpaid past its grace period, so it moved "
            f"from the {plan} plan to the Free plan. Pay the open invoice or choose a plan again to get its "
            f"limits back: {link}\n\n— Answerdesk\n",
        ),
        "canceled": (
            f"{org_name}: subscription ended",
            f"Hello,\n\nThe {plan} subscription of {org_name} has ended, and it is now on the Free plan. "
            f"You can choose a plan again at any time: {link}\n\n— Answerdesk\n",
        ),
        "upgraded": (
            f"{org_name} is now on the {plan} plan",
            f"Hello,\n\nThank you: {org_name} is now on the {plan} plan. Invoices and your card are under "
            f"Billing: {link}\n\n— Answerdesk\n",
        ),
    }
    return texts.get(kind, (f"{org_name}: billing update", f"Hello,\n\nSee {link}\n\n— Answerdesk\n"))


@periodic(GRACE_TASK, every_seconds=600)
async def end_grace(ctx: JobContext) -> None:
    """Moves organizations unpaid at the end of their grace period to the Free plan; forgets old events."""
    async with session_scope(ctx.runtime.sessionmaker) as db:
        moved = await end_grace_periods(db, ctx.runtime.settings, ctx.runtime.jobs)
    if moved:
        log.info("billing.grace_ended", organizations=moved)
    # Stripe retries a delivery for 3 days and refuses signatures older than 5 minutes, so an event id
    # a month old can no longer arrive again: its row is no longer needed to keep it from applying twice.
    async with session_scope(ctx.runtime.sessionmaker) as db:
        await StripeEventRepository(db).prune(utcnow() - EVENT_MEMORY)
