"""Knowledge gaps page: groups of questions the bot fell short on; admins turn one into an FAQ entry and
choose the weekly e-mail."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError

from answerdesk.admin.deps import Admin, OrgAdmin
from answerdesk.admin.templating import redirect, render
from answerdesk.auth.deps import DbSession, RuntimeDep
from answerdesk.gaps.digest import set_weekly_email, weekly_email_on
from answerdesk.gaps.schemas import GapFaqCreate
from answerdesk.gaps.service import DEFAULT_DAYS, MAX_DAYS, GapService
from answerdesk.kit.errors import AppError, NotFound, ValidationFailed
from answerdesk.knowledge.schemas import parse_tags
from answerdesk.tenants.service import OrganizationService

router = APIRouter(prefix="/admin/gaps", include_in_schema=False)

PAGE = "/admin/gaps"
WINDOWS = (7, 30, 90)
SHOWN = 50
REASON_LABELS = {"refused": "Refused", "handed_off": "Handed off", "unhelpful": "Rated unhelpful"}
DRAFT_NOTES = {
    "staff": "Drafted from a staff reply in one of these conversations, with the customer's personal data "
    "removed. Check it before saving.",
    "llm": "Written by the AI model, which does not know your facts: fill in every [placeholder] and "
    "correct it before saving.",
    "none": "No staff reply in these conversations and no AI model configured: write the answer.",
}
FormStr = Annotated[str, Form()]


def _days(value: str | int | None) -> int:
    try:
        days = int(value or DEFAULT_DAYS)
    except ValueError:
        return DEFAULT_DAYS
    return days if 1 <= days <= MAX_DAYS else DEFAULT_DAYS


def _key(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound("Gap group not found.") from None


@router.get("")
async def gaps_page(
    request: Request, ctx: Admin, db: DbSession, runtime: RuntimeDep, days: str = ""
) -> Response:
    window = _days(days)
    report = await GapService(runtime).report(db, ctx.organization.id, days=window)
    org = await OrganizationService(db).get(ctx.organization.id)
    groups = report.read(SHOWN).groups
    return render(
        request,
        "gaps/index.html",
        nav="gaps",
        report=report,
        open_groups=[g for g in groups if g.status == "open"],
        answered_groups=[g for g in groups if g.status == "answered"],
        windows=WINDOWS,
        days=window,
        reason_labels=REASON_LABELS,
        weekly_email=weekly_email_on(org.settings),
        smtp_configured=bool(runtime.settings.smtp_host),
    )


@router.get("/{key}/faq")
async def gap_faq_page(
    request: Request, key: str, ctx: OrgAdmin, db: DbSession, runtime: RuntimeDep, days: str = ""
) -> Response:
    window = _days(days)
    service = GapService(runtime)
    group = await service.group(db, ctx.organization.id, _key(key), days=window)
    draft = await service.draft(db, ctx.organization.id, group)
    return render(
        request,
        "gaps/faq.html",
        nav="gaps",
        group=group.read(),
        message_ids=[q.message_id for q in group.questions],
        form={"question": draft.question, "answer": draft.answer, "tags": ""},
        source=draft.source,
        note=DRAFT_NOTES[draft.source],
        days=window,
        reason_labels=REASON_LABELS,
    )


@router.post("/{key}/faq")
async def create_gap_faq(
    request: Request,
    key: str,
    ctx: OrgAdmin,
    db: DbSession,
    runtime: RuntimeDep,
    question: FormStr = "",
    answer: FormStr = "",
    tags: FormStr = "",
    source: FormStr = "none",
    days: FormStr = "",
) -> Response:
    form = await request.form()
    message_ids = [str(v) for v in form.getlist("message_id")]
    window = _days(days)
    service = GapService(runtime)
    try:
        try:
            body = GapFaqCreate.model_validate(
                {"question": question, "answer": answer, "tags": parse_tags(tags), "message_ids": message_ids}
            )
        except (ValidationError, ValueError):
            raise ValidationFailed(
                "Write a question (at least 3 characters) and an answer; tags are comma separated."
            ) from None
        await service.create_faq(db, ctx.organization.id, body, ctx.user_id)
    except AppError as exc:
        group = await service.group(db, ctx.organization.id, _key(key), days=window)
        return render(
            request,
            "gaps/faq.html",
            status_code=exc.status_code,
            nav="gaps",
            group=group.read(),
            message_ids=[q.message_id for q in group.questions],
            form={"question": question, "answer": answer, "tags": tags},
            source=source if source in DRAFT_NOTES else "none",
            note=DRAFT_NOTES.get(source, DRAFT_NOTES["none"]),
            days=window,
            reason_labels=REASON_LABELS,
            error=exc.message,
        )
    return redirect(
        f"{PAGE}?days={window}",
        flash="FAQ entry added and the group marked answered. New questions like it get this answer "
        "once it is indexed, in a few seconds.",
    )


@router.post("/settings")
async def save_gap_settings(ctx: OrgAdmin, db: DbSession, weekly_email: FormStr = "") -> Response:
    on = weekly_email == "on"
    await set_weekly_email(db, ctx.organization.id, on)
    message = (
        "Weekly knowledge-gap e-mails to admins are on." if on else "Weekly knowledge-gap e-mails are off."
    )
    return redirect(PAGE, flash=message)
