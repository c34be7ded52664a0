"""FastAPI dependencies: the runtime, one DB session per request, and who is calling."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import Scope
from answerdesk.auth.service import (
    SUSPENDED_MESSAGE,
    ApiKeyService,
    LoginService,
    MemberService,
    OrganizationSuspended,
    Principal,
)
from answerdesk.auth.sessions import SessionData
from answerdesk.billing.models import Feature
from answerdesk.billing.service import BillingService
from answerdesk.kit.db import session_scope
from answerdesk.kit.errors import Forbidden, Unauthorized
from answerdesk.kit.security import tokens_equal
from answerdesk.runtime import Runtime

SESSION_COOKIE = "answerdesk_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_db(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    async with session_scope(runtime.sessionmaker) as session:
        yield session


# scope="function": commit before the response leaves, so a client never reads ahead of its own write.
DbSession = Annotated[AsyncSession, Depends(get_db, scope="function")]


def login_service(db: DbSession, runtime: RuntimeDep) -> LoginService:
    return LoginService(db, runtime.settings, runtime.limiter, runtime.session_store)


LoginServiceDep = Annotated[LoginService, Depends(login_service)]


async def current_session(request: Request, logins: LoginServiceDep) -> SessionData | None:
    token = request.cookies.get(SESSION_COOKIE)
    return await logins.resolve(token) if token else None


async def get_principal(request: Request, db: DbSession, logins: LoginServiceDep) -> Principal:
    auth = request.headers.get("authorization", "")
    if auth:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Use 'Authorization: Bearer <API key>'.")
        runtime: Runtime = request.app.state.runtime

        async def api_access(principal: Principal) -> None:
            if principal.kind == "secret":
                await BillingService(db, runtime.settings).require_feature(
                    principal.organization_id, Feature.api_access
                )

        return await ApiKeyService(db, runtime.api_keys).authenticate(
            token.strip(), origin=request.headers.get("origin"), check=api_access
        )
    session = await current_session(request, logins)
    if session is None or session.organization_id is None:
        raise Unauthorized("An API key or a login session is required.")
    if request.method not in SAFE_METHODS and not tokens_equal(
        request.headers.get(CSRF_HEADER, ""), session.csrf_token
    ):
        raise Forbidden("Missing or wrong CSRF token.", code="csrf_failed")
    m = await MemberService(db).members.get_for_user(session.organization_id, session.user_id)
    if m is None or not m.is_active or not m.user.is_active:
        raise Unauthorized("Your session is no longer valid.")
    if m.organization.is_suspended and request.method not in SAFE_METHODS:
        # Members of a suspended organization may still read (to export their data), not change or chat.
        raise OrganizationSuspended(SUSPENDED_MESSAGE)
    return ApiKeyService.principal_for_member(m)


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require_scope(scope: Scope) -> Callable[[Principal], Coroutine[Any, Any, Principal]]:
    async def check(principal: CurrentPrincipal) -> Principal:
        if not principal.can(scope):
            raise Forbidden(f"This credential may not use the {scope} API.", code="insufficient_scope")
        return principal

    return check


AdminPrincipal = Annotated[Principal, Depends(require_scope(Scope.admin))]
