"""Dashboard."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from answerdesk.admin.deps import Admin
from answerdesk.admin.templating import render
from answerdesk.auth.deps import DbSession
from answerdesk.auth.service import ApiKeyService, MemberService

router = APIRouter(include_in_schema=False)


@router.get("/admin")
async def dashboard(request: Request, ctx: Admin, db: DbSession) -> Response:
    members = await MemberService(db).list(ctx.organization.id)
    keys = [k for k in await ApiKeyService(db).list(ctx.organization.id) if k.revoked_at is None]
    return render(request, "dashboard/index.html", member_count=len(members), key_count=len(keys))
