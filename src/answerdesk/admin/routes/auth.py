"""Login, logout, own password, and switching organization."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from answerdesk.admin.deps import Admin, check_csrf_token
from answerdesk.admin.templating import redirect, render
from answerdesk.auth.deps import SESSION_COOKIE, DbSession, LoginServiceDep, RuntimeDep, current_session
from answerdesk.auth.service import MemberService
from answerdesk.kit.errors import AppError, Forbidden, TooManyRequests
from answerdesk.kit.security import new_token, tokens_equal
from answerdesk.kit.web import client_ip

router = APIRouter(include_in_schema=False)
LOGIN_CSRF_COOKIE = "answerdesk_login_csrf"


def _safe_next(target: str | None) -> str:
    # Only local paths: never bounce a fresh login to another site.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/admin"


def _login_page(
    request: Request,
    *,
    error: str | None = None,
    email: str = "",
    status_code: int = 200,
    next_url: str = "/admin",
) -> Response:
    token = new_token(16)
    response = render(
        request,
        "auth/login.html",
        status_code=status_code,
        login_csrf=token,
        error=error,
        email=email,
        next_url=next_url,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        path="/login",
        secure=request.app.state.runtime.settings.secure_cookies,
    )
    return response


@router.get("/login")
async def login_form(request: Request, logins: LoginServiceDep, next: str | None = None) -> Response:
    if await current_session(request, logins) is not None:
        return redirect(_safe_next(next))
    return _login_page(request, next_url=_safe_next(next))


@router.post("/login")
async def login(
    request: Request,
    logins: LoginServiceDep,
    runtime: RuntimeDep,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=200)],
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/admin",
) -> Response:
    if not tokens_equal(csrf_token, request.cookies.get(LOGIN_CSRF_COOKIE, "-")):
        raise Forbidden("The login form expired. Reload the page and try again.", code="csrf_failed")
    try:
        token, data = await logins.login(
            email, password, ip=client_ip(request), user_agent=request.headers.get("user-agent", "")
        )
    except TooManyRequests as exc:
        response = _login_page(
            request, error=exc.message, email=email, status_code=429, next_url=_safe_next(next)
        )
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except AppError as exc:
        return _login_page(
            request, error=exc.message, email=email, status_code=exc.status_code, next_url=_safe_next(next)
        )
    # An operator without an organization has nothing under /admin: the console is their start page.
    response = redirect(_safe_next(next) if data.organization_id is not None else "/operator")
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=runtime.settings.secure_cookies,
        max_age=runtime.settings.session_max_hours * 3600,
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request, logins: LoginServiceDep) -> Response:
    # Not the admin context: an operator without an organization logs out here too.
    session = await current_session(request, logins)
    if session is None:
        return redirect("/login")
    await check_csrf_token(request, session.csrf_token)
    await logins.logout(session, ip=client_ip(request))
    response = redirect("/login", flash="You have been logged out.")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/admin/switch-org")
async def switch_org(
    ctx: Admin, logins: LoginServiceDep, organization_id: Annotated[uuid.UUID, Form()]
) -> Response:
    await logins.switch_organization(ctx.session, organization_id)
    return redirect("/admin")


@router.get("/admin/account")
async def account(request: Request, ctx: Admin) -> Response:
    return render(request, "account/index.html")


@router.post("/admin/account/password")
async def change_password(
    request: Request,
    ctx: Admin,
    db: DbSession,
    runtime: RuntimeDep,
    current_password: Annotated[str, Form(max_length=200)],
    new_password: Annotated[str, Form(max_length=200)],
    confirm_password: Annotated[str, Form(max_length=200)],
) -> Response:
    if new_password != confirm_password:
        return render(request, "account/index.html", status_code=422, error="The new passwords do not match.")
    try:
        await MemberService(db, runtime.session_store).change_own_password(
            ctx.user_id,
            current_password,
            new_password,
            keep_session=ctx.session.id,
            org_id=ctx.organization.id,
            ip=client_ip(request),
        )
    except AppError as exc:
        return render(request, "account/index.html", status_code=exc.status_code, error=exc.message)
    return redirect("/admin/account", flash="Password changed. Your other sessions were signed out.")
