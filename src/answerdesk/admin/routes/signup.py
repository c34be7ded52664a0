"""Public pages of a SaaS instance: the landing page at /, sign-up at /signup and the e-mail confirmation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.admin.pricing import pricing_plans
from answerdesk.admin.templating import redirect, render
from answerdesk.auth.deps import DbSession, RuntimeDep
from answerdesk.integrations.mail.smtp import SmtpMailer
from answerdesk.kit.errors import AppError, Forbidden, TooManyRequests
from answerdesk.kit.security import new_token, tokens_equal
from answerdesk.kit.web import client_ip
from answerdesk.runtime import Runtime
from answerdesk.signup.schemas import SignupCreate
from answerdesk.signup.service import SignupService

router = APIRouter(include_in_schema=False)
SIGNUP_CSRF_COOKIE = "answerdesk_signup_csrf"


def signup_service(db: AsyncSession, runtime: Runtime) -> SignupService:
    return SignupService(
        db, runtime.settings, runtime.limiter, runtime.secret, SmtpMailer.from_settings(runtime.settings)
    )


@router.get("/")
async def landing(request: Request, db: DbSession, runtime: RuntimeDep) -> Response:
    # A self-hosted instance (sign-up closed) keeps / as it always was: the way into the admin panel.
    if runtime.settings.signup == "closed":
        return redirect("/admin")
    response = render(
        request,
        "landing/index.html",
        plans=await pricing_plans(db, runtime.settings),
        mode=runtime.settings.signup,
    )
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def _form(
    request: Request,
    service: SignupService,
    *,
    values: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    token = new_token(16)
    response = render(
        request,
        "signup/form.html",
        status_code=status_code,
        signup_csrf=token,
        values=values or {},
        error=error,
        mode=service.mode,
        verifies_email=service.verifies_email,
    )
    response.set_cookie(
        SIGNUP_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        path="/signup",
        secure=request.app.state.runtime.settings.secure_cookies,
    )
    return response


@router.get("/signup")
async def signup_form(
    request: Request, db: DbSession, runtime: RuntimeDep, invite: str | None = None
) -> Response:
    service = signup_service(db, runtime)
    service.ensure_open()
    return _form(request, service, values={"invite_code": (invite or "")[:100]})


def _validation_message(exc: ValidationError) -> str:
    fields = {"organization_name": "Organization name", "email": "E-mail", "name": "Name"}
    first = exc.errors()[0]
    where = fields.get(str(first["loc"][0]) if first["loc"] else "", "Form")
    return f"{where}: {first['msg']}."


@router.post("/signup")
async def signup(
    request: Request,
    db: DbSession,
    runtime: RuntimeDep,
    organization_name: Annotated[str, Form(max_length=200)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    confirm_password: Annotated[str, Form(max_length=200)] = "",
    invite_code: Annotated[str, Form(max_length=100)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    service = signup_service(db, runtime)
    service.ensure_open()
    if not tokens_equal(csrf_token, request.cookies.get(SIGNUP_CSRF_COOKIE, "-")):
        raise Forbidden("The sign-up form expired. Reload the page and try again.", code="csrf_failed")
    values = {
        "organization_name": organization_name,
        "name": name,
        "email": email,
        "invite_code": invite_code,
    }
    if password != confirm_password:
        return _form(request, service, values=values, error="The passwords do not match.", status_code=422)
    try:
        form = SignupCreate(
            organization_name=organization_name.strip(),
            name=name,
            email=email.strip(),
            password=password,
            invite_code=invite_code or None,
        )
    except ValidationError as exc:
        return _form(request, service, values=values, error=_validation_message(exc), status_code=422)
    try:
        result = await service.register(form, ip=client_ip(request))
        if result.needs_verification:
            # Before the commit: if the mail cannot go out, nothing is kept and the visitor may simply retry.
            await service.send_verification(result.user)
    except AppError as exc:
        await db.rollback()
        response = _form(request, service, values=values, error=exc.message, status_code=exc.status_code)
        if isinstance(exc, TooManyRequests):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response
    if result.needs_verification:
        response = render(request, "signup/check_email.html", email=result.user.email)
    else:
        response = redirect(
            "/login?next=/admin",
            flash=f"Your account for {result.organization.name} is ready. Please log in.",
        )
    response.delete_cookie(SIGNUP_CSRF_COOKIE, path="/signup")
    return response


@router.get("/signup/verify")
async def verify_form(request: Request, db: DbSession, runtime: RuntimeDep, token: str = "") -> Response:
    service = signup_service(db, runtime)
    try:
        user = await service.user_for_token(token[:1000])
    except AppError as exc:
        return render(request, "signup/verify.html", status_code=exc.status_code, error=exc.message)
    # A button, not an automatic confirmation: mail scanners open links, only people press buttons.
    return render(request, "signup/verify.html", token=token, email=user.email, done=user.email_verified_at)


@router.post("/signup/verify")
async def verify(
    request: Request, db: DbSession, runtime: RuntimeDep, token: Annotated[str, Form(max_length=1000)]
) -> Response:
    service = signup_service(db, runtime)
    try:
        user, _ = await service.verify(token, ip=client_ip(request))
    except AppError as exc:
        return render(request, "signup/verify.html", status_code=exc.status_code, error=exc.message)
    return redirect("/login?next=/admin", flash=f"Thank you: {user.email} is confirmed. Please log in.")


@router.post("/signup/resend")
async def resend(
    request: Request, db: DbSession, runtime: RuntimeDep, email: Annotated[str, Form(max_length=320)]
) -> Response:
    service = signup_service(db, runtime)
    service.ensure_open()
    try:
        await service.resend_verification(email, ip=client_ip(request))
    except TooManyRequests as exc:
        response = render(request, "signup/check_email.html", status_code=429, error=exc.message, email=email)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    return render(request, "signup/check_email.html", email=email.strip().lower(), resent=True)
