"""Who is using the admin panel: the logged-in member of the current organization, and CSRF."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from answerdesk.auth.deps import DbSession, LoginServiceDep, RuntimeDep, current_session
from answerdesk.auth.models import Membership, Role
from answerdesk.auth.repository import MembershipRepository, UserRepository
from answerdesk.auth.service import SUSPENDED_MESSAGE, OrganizationSuspended
from answerdesk.auth.sessions import SessionData
from answerdesk.billing.service import AnswersWarning, BillingService
from answerdesk.kit.errors import AppError, Forbidden, Unauthorized
from answerdesk.kit.security import tokens_equal


class LoginRequired(Unauthorized):
    code = "login_required"


class OperatorHome(AppError):
    """An instance operator without an organization opened the admin panel: the console is their home."""

    status_code = 303
    code = "operator_home"


# What a member of a suspended organization may still post: leave, switch, change their own password.
SUSPENDED_ALLOWED_POSTS = frozenset({"/logout", "/admin/switch-org", "/admin/account/password"})


@dataclass(frozen=True)
class OrgRef:
    id: uuid.UUID
    name: str
    slug: str
    suspended: bool = False


@dataclass(frozen=True)
class AdminContext:
    """Plain values, not ORM rows: error pages render after the request's DB session rolled back."""

    session: SessionData
    user_id: uuid.UUID
    email: str
    role: str
    organization: OrgRef
    organizations: list[OrgRef]
    is_operator: bool = False
    # Admins only: the plan's AI answers this period are nearly or all used (the banner on every page).
    answers_warning: AnswersWarning | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin

    @property
    def csrf_token(self) -> str:
        return self.session.csrf_token


async def get_admin_context(
    request: Request, db: DbSession, logins: LoginServiceDep, runtime: RuntimeDep
) -> AdminContext:
    session = await current_session(request, logins)
    if session is None:
        raise LoginRequired("Please log in.")
    repo = MembershipRepository(db)
    memberships = [m for m in await repo.for_user(session.user_id) if m.user.is_active]
    if not memberships:
        user = await UserRepository(db).get(session.user_id)
        if user is not None and user.is_active and user.is_operator:
            raise OperatorHome("Instance operators without an organization use the operator console.")
        await logins.sessions.delete(session.id)
        raise LoginRequired("Your account has no active organization.")
    current = next((m for m in memberships if m.organization_id == session.organization_id), None)
    if current is None:  # deactivated in the org the session pointed at: fall back to another
        session = await logins.switch_organization(session, memberships[0].organization_id)
        current = memberships[0]
    warning = None
    if current.role == Role.admin:
        warning = await BillingService(db, runtime.settings).answers_warning(current.organization)
    ctx = AdminContext(
        session=session,
        user_id=current.user_id,
        email=current.user.email,
        role=current.role,
        organization=_ref(current),
        organizations=[_ref(m) for m in memberships],
        is_operator=current.user.is_operator,
        answers_warning=warning,
    )
    request.state.admin = ctx
    if request.method not in ("GET", "HEAD"):
        await _check_csrf(request, ctx)
        if ctx.organization.suspended and request.url.path not in SUSPENDED_ALLOWED_POSTS:
            # Members keep reading (and exporting) their data; nothing changes while suspended.
            raise OrganizationSuspended(SUSPENDED_MESSAGE)
    return ctx


def _ref(m: Membership) -> OrgRef:
    return OrgRef(
        id=m.organization.id,
        name=m.organization.name,
        slug=m.organization.slug,
        suspended=m.organization.is_suspended,
    )


async def _check_csrf(request: Request, ctx: AdminContext) -> None:
    await check_csrf_token(request, ctx.csrf_token)


async def check_csrf_token(request: Request, expected: str) -> None:
    sent = request.headers.get("x-csrf-token", "")
    if not sent:
        form = await request.form()
        value = form.get("csrf_token", "")
        sent = value if isinstance(value, str) else ""
    if not tokens_equal(sent, expected):
        raise Forbidden(
            "The form expired or did not come from this site. Reload the page and try again.",
            code="csrf_failed",
        )


async def require_admin_role(ctx: Annotated[AdminContext, Depends(get_admin_context)]) -> AdminContext:
    if not ctx.is_admin:
        raise Forbidden("Only organization admins can open this page.")
    return ctx


Admin = Annotated[AdminContext, Depends(get_admin_context)]
OrgAdmin = Annotated[AdminContext, Depends(require_admin_role)]
