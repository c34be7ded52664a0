"""The operator console (/operator): every organization with its plan, usage, last activity and status;
suspend, resume and plan changes; invitation codes for invite-only sign-up. Only instance operators."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from answerdesk.admin.deps import LoginRequired, check_csrf_token
from answerdesk.admin.routes.signup import signup_service
from answerdesk.admin.templating import redirect, render
from answerdesk.auth.deps import DbSession, LoginServiceDep, RuntimeDep, current_session
from answerdesk.auth.models import User
from answerdesk.auth.sessions import SessionData
from answerdesk.kit.db import utcnow
from answerdesk.kit.web import client_ip
from answerdesk.operator.service import OperatorService

router = APIRouter(prefix="/operator", include_in_schema=False)
PAGE = "/operator"


@dataclass(frozen=True)
class OperatorContext:
    session: SessionData
    user: User

    @property
    def csrf_token(self) -> str:
        return self.session.csrf_token

    @property
    def email(self) -> str:
        return self.user.email


async def get_operator(
    request: Request, db: DbSession, runtime: RuntimeDep, logins: LoginServiceDep
) -> OperatorContext:
    session = await current_session(request, logins)
    if session is None:
        raise LoginRequired("Please log in.")
    # Anyone but an operator gets a 404: org admins are not told the console exists.
    user = await OperatorService(db, runtime.settings).operator(session.user_id)
    op = OperatorContext(session=session, user=user)
    if request.method not in ("GET", "HEAD"):
        await check_csrf_token(request, session.csrf_token)
    return op


Operator = Annotated[OperatorContext, Depends(get_operator)]


@router.get("")
async def console(request: Request, op: Operator, db: DbSession, runtime: RuntimeDep) -> Response:
    rows = await OperatorService(db, runtime.settings).organizations()
    return render(
        request,
        "operator/index.html",
        op=op,
        rows=rows,
        signup_mode=runtime.settings.signup,
        suspended=sum(1 for r in rows if r.status == "suspended"),
    )


@router.get("/organizations/{organization_id}")
async def organization(
    request: Request, op: Operator, db: DbSession, runtime: RuntimeDep, organization_id: uuid.UUID
) -> Response:
    service = OperatorService(db, runtime.settings)
    org = await service.get(organization_id)
    plan, used, cap = await service.plan_usage(org)
    return render(
        request,
        "operator/organization.html",
        op=op,
        org=org,
        plan=plan,
        answers_used=used,
        answers_limit=cap,
        plans=await service.plan_choices(),
        admins=await service.admin_emails(org.id),
        audit=await service.audit_log(org.id, limit=50),
    )


@router.post("/organizations/{organization_id}/suspend")
async def suspend(
    request: Request,
    op: Operator,
    db: DbSession,
    runtime: RuntimeDep,
    organization_id: uuid.UUID,
    reason: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    org = await OperatorService(db, runtime.settings).suspend(
        organization_id, reason=reason, actor=op.user, ip=client_ip(request)
    )
    runtime.api_keys.forget_on_commit(db, organization_id=org.id)  # its keys stop working on this process now
    return redirect(f"{PAGE}/organizations/{org.id}", flash=f"{org.name} is suspended.")


@router.post("/organizations/{organization_id}/resume")
async def resume(
    request: Request, op: Operator, db: DbSession, runtime: RuntimeDep, organization_id: uuid.UUID
) -> Response:
    org = await OperatorService(db, runtime.settings).resume(
        organization_id, actor=op.user, ip=client_ip(request)
    )
    return redirect(f"{PAGE}/organizations/{org.id}", flash=f"{org.name} is active again.")


@router.post("/organizations/{organization_id}/plan")
async def change_plan(
    request: Request,
    op: Operator,
    db: DbSession,
    runtime: RuntimeDep,
    organization_id: uuid.UUID,
    plan: Annotated[str, Form(max_length=63)],
) -> Response:
    service = OperatorService(db, runtime.settings)
    name = await service.change_plan(organization_id, plan, actor=op.user, ip=client_ip(request))
    runtime.api_keys.forget_on_commit(db, organization_id=organization_id)  # API access may have changed
    org = await service.get(organization_id)
    return redirect(f"{PAGE}/organizations/{org.id}", flash=f"{org.name} is now on the {name} plan.")


@router.get("/invitations")
async def invitations(request: Request, op: Operator, db: DbSession, runtime: RuntimeDep) -> Response:
    service = signup_service(db, runtime)
    return render(
        request,
        "operator/invitations.html",
        op=op,
        invitations=await service.list_invitations(),
        signup_mode=runtime.settings.signup,
        default_days=runtime.settings.signup_invite_days,
        now=utcnow(),
    )


@router.post("/invitations")
async def create_invitation(
    request: Request,
    op: Operator,
    db: DbSession,
    runtime: RuntimeDep,
    note: Annotated[str, Form(max_length=200)] = "",
    email: Annotated[str, Form(max_length=320)] = "",
    days: Annotated[int, Form(ge=1, le=365)] = 14,
) -> Response:
    service = signup_service(db, runtime)
    _, code = await service.create_invitation(
        actor_id=op.user.id, note=note, email=email or None, days=days, ip=client_ip(request)
    )
    # The code is shown on this one response and never again (only its hash is kept).
    return render(
        request,
        "operator/invitations.html",
        op=op,
        invitations=await service.list_invitations(),
        signup_mode=runtime.settings.signup,
        default_days=runtime.settings.signup_invite_days,
        now=utcnow(),
        new_code=code,
        new_url=service.invitation_url(code),
    )


@router.post("/invitations/{invitation_id}/revoke")
async def revoke_invitation(
    request: Request, op: Operator, db: DbSession, runtime: RuntimeDep, invitation_id: uuid.UUID
) -> Response:
    await signup_service(db, runtime).revoke_invitation(
        invitation_id, actor_id=op.user.id, ip=client_ip(request)
    )
    return redirect(f"{PAGE}/invitations", flash="Invitation revoked.")


@router.get("/audit")
async def audit(request: Request, op: Operator, db: DbSession, runtime: RuntimeDep) -> Response:
    return render(
        request,
        "operator/audit.html",
        op=op,
        entries=await OperatorService(db, runtime.settings).audit_log(limit=200),
    )
