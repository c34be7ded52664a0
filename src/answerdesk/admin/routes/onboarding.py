"""The dashboard's getting-started checklist (a partial loaded by htmx) and the events it listens for."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from answerdesk.admin.deps import OrgAdmin
from answerdesk.admin.templating import render
from answerdesk.auth.deps import DbSession
from answerdesk.kit.web import client_ip
from answerdesk.onboarding.service import OnboardingService

router = APIRouter(prefix="/admin/onboarding", include_in_schema=False)


@router.get("")
async def checklist(request: Request, ctx: OrgAdmin, db: DbSession) -> Response:
    if ctx.organization.suspended:
        return HTMLResponse("")  # nothing can be done while suspended: no steps to suggest
    state = await OnboardingService(db).checklist(ctx.organization.id)
    if not state.visible:
        return HTMLResponse("")  # htmx swaps the slot away: nothing left to do, or dismissed
    return render(request, "onboarding/checklist.html", checklist=state)


@router.post("/events/{event}", status_code=204)
async def event(ctx: OrgAdmin, db: DbSession, event: Literal["widget_snippet_copied"]) -> Response:
    await OnboardingService(db).record(ctx.organization.id, event)
    return Response(status_code=204)


@router.post("/dismiss")
async def dismiss(request: Request, ctx: OrgAdmin, db: DbSession) -> Response:
    await OnboardingService(db).dismiss(ctx.organization.id, actor_id=ctx.user_id, ip=client_ip(request))
    return HTMLResponse("")
