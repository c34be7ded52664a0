"""API keys page: list, create (shown once), revoke (admins only)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from answerdesk.admin.deps import OrgAdmin
from answerdesk.admin.templating import redirect, render
from answerdesk.auth.deps import DbSession, RuntimeDep
from answerdesk.auth.models import ApiKeyKind
from answerdesk.auth.origins import normalise_origin
from answerdesk.auth.service import ApiKeyService
from answerdesk.kit.errors import AppError, ValidationFailed
from answerdesk.kit.web import client_ip

router = APIRouter(prefix="/admin/api-keys", include_in_schema=False)


async def _page(
    request: Request, ctx: OrgAdmin, db: DbSession, status_code: int = 200, **extra: object
) -> Response:
    keys = await ApiKeyService(db).list(ctx.organization.id)
    return render(
        request, "api_keys/index.html", status_code=status_code, keys=keys, kinds=list(ApiKeyKind), **extra
    )


@router.get("")
async def api_keys(request: Request, ctx: OrgAdmin, db: DbSession) -> Response:
    return await _page(request, ctx, db)


@router.post("")
async def create(
    request: Request,
    ctx: OrgAdmin,
    db: DbSession,
    kind: Annotated[ApiKeyKind, Form()],
    name: Annotated[str, Form(max_length=200)] = "",
    origins: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    try:
        try:
            allowed = [normalise_origin(o) for o in origins.split() if o.strip()]
        except ValueError as exc:
            raise ValidationFailed(str(exc)) from None
        key, token = await ApiKeyService(db).create(
            ctx.organization.id,
            kind=kind,
            name=name,
            allowed_origins=allowed,
            actor_id=ctx.user_id,
            ip=client_ip(request),
        )
    except AppError as exc:
        return await _page(
            request,
            ctx,
            db,
            status_code=exc.status_code,
            error=exc.message,
            form={"name": name, "kind": kind, "origins": origins},
        )
    return await _page(request, ctx, db, status_code=201, new_key=token, new_key_row=key)


@router.post("/{key_id}/revoke")
async def revoke(
    request: Request, key_id: uuid.UUID, ctx: OrgAdmin, db: DbSession, runtime: RuntimeDep
) -> Response:
    key = await ApiKeyService(db, runtime.api_keys).revoke(
        ctx.organization.id, key_id, actor_id=ctx.user_id, ip=client_ip(request)
    )
    return redirect("/admin/api-keys", flash=f"Key {key.prefix}… revoked. It stops working immediately.")
