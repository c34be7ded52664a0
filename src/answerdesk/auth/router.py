"""JSON API: the organization's users, memberships, API keys and audit log (admin scope)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from answerdesk.auth.deps import AdminPrincipal, DbSession, RuntimeDep
from answerdesk.auth.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    AuditLogRead,
    MemberCreated,
    MemberRead,
    MembershipCreate,
    PasswordReset,
    UserCreate,
    UserUpdate,
)
from answerdesk.auth.service import ApiKeyService, AuditService, MemberService, member_read
from answerdesk.billing.service import BillingService
from answerdesk.kit.web import client_ip

router = APIRouter(tags=["users and keys"])


@router.get("/users", response_model=list[MemberRead])
async def list_users(principal: AdminPrincipal, db: DbSession) -> list[MemberRead]:
    return [member_read(m) for m in await MemberService(db).list(principal.organization_id)]


@router.post("/users", response_model=MemberCreated, status_code=status.HTTP_201_CREATED)
async def create_user(
    body: UserCreate, principal: AdminPrincipal, db: DbSession, request: Request, runtime: RuntimeDep
) -> MemberCreated:
    seats = BillingService(db, runtime.settings)
    m, generated = await MemberService(db, runtime.session_store, seats=seats).create(
        principal.organization_id,
        body.email,
        body.role,
        name=body.name,
        password=body.password,
        actor_id=principal.user_id,
        ip=client_ip(request),
    )
    return MemberCreated(user=member_read(m), password=generated)


@router.get("/users/{user_id}", response_model=MemberRead)
async def get_user(user_id: uuid.UUID, principal: AdminPrincipal, db: DbSession) -> MemberRead:
    return member_read(await MemberService(db).get(principal.organization_id, user_id))


@router.patch("/users/{user_id}", response_model=MemberRead)
async def update_user(
    user_id: uuid.UUID,
    body: UserUpdate,
    principal: AdminPrincipal,
    db: DbSession,
    request: Request,
    runtime: RuntimeDep,
) -> MemberRead:
    seats = BillingService(db, runtime.settings)
    m = await MemberService(db, runtime.session_store, seats=seats).update(
        principal.organization_id,
        user_id,
        name=body.name,
        role=body.role,
        is_active=body.is_active,
        actor_id=principal.user_id,
        ip=client_ip(request),
    )
    return member_read(m)


@router.delete("/users/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_user(user_id: uuid.UUID, principal: AdminPrincipal, db: DbSession, request: Request) -> None:
    await MemberService(db).remove(
        principal.organization_id, user_id, actor_id=principal.user_id, ip=client_ip(request)
    )


@router.post("/users/{user_id}/password-reset", response_model=PasswordReset)
async def reset_password(
    user_id: uuid.UUID, principal: AdminPrincipal, db: DbSession, request: Request, runtime: RuntimeDep
) -> PasswordReset:
    password = await MemberService(db, runtime.session_store).reset_password(
        principal.organization_id, user_id, actor_id=principal.user_id, ip=client_ip(request)
    )
    return PasswordReset(password=password)


@router.get("/memberships", response_model=list[MemberRead])
async def list_memberships(principal: AdminPrincipal, db: DbSession) -> list[MemberRead]:
    return await list_users(principal, db)


@router.post("/memberships", response_model=MemberRead, status_code=status.HTTP_201_CREATED)
async def add_membership(
    body: MembershipCreate, principal: AdminPrincipal, db: DbSession, request: Request, runtime: RuntimeDep
) -> MemberRead:
    """Adds an existing user (by e-mail) to this organization."""
    m = await MemberService(db, seats=BillingService(db, runtime.settings)).add_existing(
        principal.organization_id, body.email, body.role, actor_id=principal.user_id, ip=client_ip(request)
    )
    return member_read(m)


@router.get("/api-keys", response_model=list[ApiKeyRead])
async def list_api_keys(principal: AdminPrincipal, db: DbSession) -> list[ApiKeyRead]:
    return [ApiKeyRead.model_validate(k) for k in await ApiKeyService(db).list(principal.organization_id)]


@router.post("/api-keys", response_model=ApiKeyCreated, status_code=status.HTTP_201_CREATED)
async def create_api_key(
    body: ApiKeyCreate, principal: AdminPrincipal, db: DbSession, request: Request
) -> ApiKeyCreated:
    key, token = await ApiKeyService(db).create(
        principal.organization_id,
        kind=body.kind,
        name=body.name,
        scopes=body.scopes,
        allowed_origins=body.allowed_origins,
        actor_id=principal.user_id,
        ip=client_ip(request),
    )
    return ApiKeyCreated(api_key=ApiKeyRead.model_validate(key), key=token)


@router.get("/api-keys/{key_id}", response_model=ApiKeyRead)
async def get_api_key(key_id: uuid.UUID, principal: AdminPrincipal, db: DbSession) -> ApiKeyRead:
    return ApiKeyRead.model_validate(await ApiKeyService(db).get(principal.organization_id, key_id))


@router.delete("/api-keys/{key_id}", response_model=ApiKeyRead)
async def revoke_api_key(
    key_id: uuid.UUID, principal: AdminPrincipal, db: DbSession, request: Request, runtime: RuntimeDep
) -> ApiKeyRead:
    key = await ApiKeyService(db, runtime.api_keys).revoke(
        principal.organization_id, key_id, actor_id=principal.user_id, ip=client_ip(request)
    )
    return ApiKeyRead.model_validate(key)


@router.get("/audit-log", response_model=list[AuditLogRead])
async def audit_log(
    principal: AdminPrincipal, db: DbSession, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[AuditLogRead]:
    rows = await AuditService(db).list(principal.organization_id, limit=limit)
    return [AuditLogRead.model_validate(r) for r in rows]
