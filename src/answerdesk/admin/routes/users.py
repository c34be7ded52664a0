"""Users page: list, invite, change role, (de)activate, reset password, remove (admins only)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from answerdesk.admin.deps import OrgAdmin
from answerdesk.admin.templating import redirect, render
from answerdesk.auth.deps import DbSession, RuntimeDep
from answerdesk.auth.models import Role
from answerdesk.auth.service import MemberService
from answerdesk.billing.service import BillingService
from answerdesk.kit.errors import AppError
from answerdesk.kit.web import client_ip

router = APIRouter(prefix="/admin/users", include_in_schema=False)


async def _page(
    request: Request, ctx: OrgAdmin, db: DbSession, status_code: int = 200, **extra: object
) -> Response:
    members = await MemberService(db).list(ctx.organization.id)
    return render(
        request, "users/index.html", status_code=status_code, members=members, roles=list(Role), **extra
    )


@router.get("")
async def users(request: Request, ctx: OrgAdmin, db: DbSession) -> Response:
    return await _page(request, ctx, db)


@router.post("")
async def invite(
    request: Request,
    ctx: OrgAdmin,
    db: DbSession,
    runtime: RuntimeDep,
    email: Annotated[str, Form(max_length=320)],
    role: Annotated[Role, Form()],
    name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    try:
        m, password = await MemberService(db, seats=BillingService(db, runtime.settings)).create(
            ctx.organization.id, email, role, name=name, actor_id=ctx.user_id, ip=client_ip(request)
        )
    except AppError as exc:
        return await _page(
            request,
            ctx,
            db,
            status_code=exc.status_code,
            error=exc.message,
            form={"email": email, "name": name, "role": role},
        )
    return await _page(request, ctx, db, status_code=201, created=m.user.email, password=password)


@router.post("/{user_id}/role")
async def change_role(
    request: Request, user_id: uuid.UUID, ctx: OrgAdmin, db: DbSession, role: Annotated[Role, Form()]
) -> Response:
    m = await MemberService(db).update(
        ctx.organization.id, user_id, role=role, actor_id=ctx.user_id, ip=client_ip(request)
    )
    return redirect("/admin/users", flash=f"{m.user.email} is now {role}.")


@router.post("/{user_id}/active")
async def set_active(
    request: Request,
    user_id: uuid.UUID,
    ctx: OrgAdmin,
    db: DbSession,
    runtime: RuntimeDep,
    active: Annotated[bool, Form()],
) -> Response:
    seats = BillingService(db, runtime.settings)
    m = await MemberService(db, runtime.session_store, seats=seats).update(
        ctx.organization.id, user_id, is_active=active, actor_id=ctx.user_id, ip=client_ip(request)
    )
    return redirect("/admin/users", flash=f"{m.user.email} {'activated' if active else 'deactivated'}.")


@router.post("/{user_id}/reset-password")
async def reset_password(
    request: Request, user_id: uuid.UUID, ctx: OrgAdmin, db: DbSession, runtime: RuntimeDep
) -> Response:
    service = MemberService(db, runtime.session_store)
    password = await service.reset_password(
        ctx.organization.id, user_id, actor_id=ctx.user_id, ip=client_ip(request)
    )
    m = await service.get(ctx.organization.id, user_id)
    return await _page(request, ctx, db, created=m.user.email, password=password, reset=True)


@router.post("/{user_id}/remove")
async def remove(request: Request, user_id: uuid.UUID, ctx: OrgAdmin, db: DbSession) -> Response:
    await MemberService(db).remove(ctx.organization.id, user_id, actor_id=ctx.user_id, ip=client_ip(request))
    return redirect("/admin/users", flash="Member removed from the organization.")
