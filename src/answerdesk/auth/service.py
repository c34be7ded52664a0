"""Business rules for members, logins and sessions, API keys and the audit log."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.keycache import ApiKeyCache
from answerdesk.auth.models import ApiKey, ApiKeyKind, AuditLog, Membership, Role, Scope, User
from answerdesk.auth.origins import origin_allowed
from answerdesk.auth.repository import (
    ApiKeyRepository,
    AuditRepository,
    MembershipRepository,
    UserRepository,
)
from answerdesk.auth.schemas import MemberRead
from answerdesk.auth.sessions import SessionData, SessionStore
from answerdesk.config import Settings
from answerdesk.kit.db import utcnow
from answerdesk.kit.errors import (
    Conflict,
    Forbidden,
    NotFound,
    TooManyRequests,
    Unauthorized,
    ValidationFailed,
)
from answerdesk.kit.ratelimit import RateLimiter
from answerdesk.kit.security import (
    generate_password,
    hash_password,
    hash_token,
    new_token,
    password_problem,
    verify_password,
)
from answerdesk.tenants.service import OrganizationService

ROLE_SCOPES: dict[str, frozenset[str]] = {
    Role.admin: frozenset(Scope),
    Role.staff: frozenset({Scope.chat, Scope.tickets}),
}
KEY_PREFIXES = {ApiKeyKind.secret: "ad_sk_", ApiKeyKind.public: "ad_pk_"}
# Writing last_used_at on every request would serialise SQLite writers; a minute is precise enough.
LAST_USED_RESOLUTION = timedelta(seconds=60)


@dataclass(frozen=True)
class Principal:
    """Who is calling the API: a logged-in user (cookie) or an API key, always within one org."""

    organization_id: uuid.UUID
    kind: str  # "user", "secret" or "public"
    scopes: frozenset[str]
    user_id: uuid.UUID | None = None
    api_key_id: uuid.UUID | None = None

    def can(self, scope: str) -> bool:
        return scope in self.scopes


def member_read(m: Membership) -> MemberRead:
    return MemberRead(
        id=m.user.id,
        email=m.user.email,
        name=m.user.name,
        role=Role(m.role),
        is_active=m.is_active and m.user.is_active,
        last_login_at=m.user.last_login_at,
        membership_id=m.id,
        created_at=m.created_at,
    )


class OrganizationSuspended(Forbidden):
    code = "organization_suspended"


SUSPENDED_MESSAGE = "This organization is suspended. Please contact the service operator."


async def ensure_not_suspended(db: AsyncSession, organization_id: uuid.UUID) -> None:
    """A suspended organization's keys (widget, integrations) get a plain 403 instead of service."""
    if (await OrganizationService(db).get(organization_id)).is_suspended:
        raise OrganizationSuspended(SUSPENDED_MESSAGE)


class AuditService:
    def __init__(self, db: AsyncSession) -> None:
        self.repo = AuditRepository(db)

    def record(
        self,
        action: str,
        *,
        organization_id: uuid.UUID | None = None,
        actor_id: uuid.UUID | None = None,
        target: str = "",
        ip: str = "",
        details: dict[str, Any] | None = None,
    ) -> None:
        self.repo.add(
            AuditLog(
                organization_id=organization_id,
                actor_user_id=actor_id,
                action=action,
                target=target[:320],
                ip=ip[:64],
                details=details or {},
            )
        )

    async def list(self, organization_id: uuid.UUID, limit: int = 100) -> Sequence[AuditLog]:
        return await self.repo.list(organization_id, limit=limit)


class SeatLimit(Protocol):
    """The plan's seat limit (billing.BillingService); raises when no seat is free."""

    async def check_seats(self, organization_id: uuid.UUID) -> None: ...


class MemberService:
    """Users as members of one organization, with their role there."""

    def __init__(
        self, db: AsyncSession, sessions: SessionStore | None = None, *, seats: SeatLimit | None = None
    ) -> None:
        self.db = db
        # Given by callers acting for the organization (API, admin); the operator's CLI is not limited.
        self.seats = seats
        self.users = UserRepository(db)
        self.members = MembershipRepository(db)
        self.audit = AuditService(db)
        self.sessions = sessions

    async def list(self, org_id: uuid.UUID) -> Sequence[Membership]:
        return await self.members.list(org_id)

    async def get(self, org_id: uuid.UUID, user_id: uuid.UUID) -> Membership:
        m = await self.members.get_for_user(org_id, user_id)
        if m is None:
            raise NotFound("User not found.")
        return m

    async def create(
        self,
        org_id: uuid.UUID,
        email: str,
        role: Role,
        *,
        name: str = "",
        password: str | None = None,
        actor_id: uuid.UUID | None = None,
        ip: str = "",
    ) -> tuple[Membership, str | None]:
        """A new user and their membership; returns the generated password when none was given."""
        email = email.strip().lower()
        if await self.users.by_email(email) is not None:
            raise Conflict(f"A user with e-mail {email} already exists.")
        if self.seats is not None:
            await self.seats.check_seats(org_id)
        generated = None
        if password is None:
            password = generated = generate_password()
        elif problem := password_problem(password, email=email):
            raise ValidationFailed(problem)
        user = self.users.add(User(email=email, name=name.strip(), password_hash=hash_password(password)))
        await self.db.flush()
        membership = await self._add_membership(org_id, user, role, actor_id=actor_id, ip=ip)
        return membership, generated

    async def create_operator(
        self, email: str, *, name: str = "", password: str | None = None
    ) -> tuple[User, str | None]:
        """An instance operator with no organization (the operator console is their home)."""
        email = email.strip().lower()
        if await self.users.by_email(email) is not None:
            raise Conflict(f"A user with e-mail {email} already exists.")
        generated = None
        if password is None:
            password = generated = generate_password()
        elif problem := password_problem(password, email=email):
            raise ValidationFailed(problem)
        user = self.users.add(
            User(email=email, name=name.strip(), password_hash=hash_password(password), is_operator=True)
        )
        await self.db.flush()
        self.audit.record("operator.granted", actor_id=None, target=email, details={"by": "cli"})
        return user, generated

    async def set_operator(self, email: str, is_operator: bool) -> User:
        """Grants or takes back the instance-operator flag (from the CLI: there is no screen for it)."""
        user = await self.users.by_email(email)
        if user is None:
            raise NotFound(f"No user with e-mail {email}.")
        if user.is_operator != is_operator:
            user.is_operator = is_operator
            self.audit.record(
                "operator.granted" if is_operator else "operator.revoked",
                target=user.email,
                details={"by": "cli"},
            )
            await self._end_sessions(user.id)
            await self.db.flush()
        return user

    async def add_existing(
        self, org_id: uuid.UUID, email: str, role: Role, *, actor_id: uuid.UUID | None = None, ip: str = ""
    ) -> Membership:
        user = await self.users.by_email(email.strip().lower())
        if user is None:
            raise NotFound(f"No user with e-mail {email}; create the user instead.")
        if await self.members.get_for_user(org_id, user.id) is not None:
            raise Conflict(f"{user.email} is already a member of this organization.")
        if self.seats is not None:
            await self.seats.check_seats(org_id)
        return await self._add_membership(org_id, user, role, actor_id=actor_id, ip=ip)

    async def _add_membership(
        self, org_id: uuid.UUID, user: User, role: Role, *, actor_id: uuid.UUID | None, ip: str
    ) -> Membership:
        m = self.members.add(Membership(organization_id=org_id, user_id=user.id, role=role))
        await self.db.flush()
        await self.db.refresh(m)
        self.audit.record(
            "member.added",
            organization_id=org_id,
            actor_id=actor_id,
            target=user.email,
            ip=ip,
            details={"role": str(role)},
        )
        return m

    async def update(
        self,
        org_id: uuid.UUID,
        user_id: uuid.UUID,
        *,
        name: str | None = None,
        role: Role | None = None,
        is_active: bool | None = None,
        actor_id: uuid.UUID | None = None,
        ip: str = "",
    ) -> Membership:
        m = await self.get(org_id, user_id)
        if name is not None:
            m.user.name = name.strip()
        if role is not None and role != m.role:
            if m.role == Role.admin:
                await self._keep_an_admin(org_id, m)
            old, m.role = m.role, role
            self.audit.record(
                "member.role_changed",
                organization_id=org_id,
                actor_id=actor_id,
                target=m.user.email,
                ip=ip,
                details={"from": old, "to": str(role)},
            )
        if is_active is not None and is_active != m.is_active:
            if not is_active:
                if user_id == actor_id:
                    raise Conflict("You cannot deactivate yourself.")
                if m.role == Role.admin:
                    await self._keep_an_admin(org_id, m)
                await self._end_sessions(user_id)
            elif self.seats is not None:
                await self.seats.check_seats(org_id)
            m.is_active = is_active
            self.audit.record(
                "member.activated" if is_active else "member.deactivated",
                organization_id=org_id,
                actor_id=actor_id,
                target=m.user.email,
                ip=ip,
            )
        await self.db.flush()
        return m

    async def remove(
        self, org_id: uuid.UUID, user_id: uuid.UUID, *, actor_id: uuid.UUID | None, ip: str = ""
    ) -> None:
        m = await self.get(org_id, user_id)
        if user_id == actor_id:
            raise Conflict("You cannot remove yourself.")
        if m.role == Role.admin:
            await self._keep_an_admin(org_id, m)
        self.audit.record(
            "member.removed", organization_id=org_id, actor_id=actor_id, target=m.user.email, ip=ip
        )
        await self.members.delete(m)
        await self.db.flush()

    async def reset_password(
        self, org_id: uuid.UUID, user_id: uuid.UUID, *, actor_id: uuid.UUID | None, ip: str = ""
    ) -> str:
        """Admin-initiated reset: a new generated password, every session of the user ended."""
        m = await self.get(org_id, user_id)
        password = generate_password()
        m.user.password_hash = hash_password(password)
        m.user.password_changed_at = utcnow()
        await self._end_sessions(user_id)
        self.audit.record(
            "member.password_reset", organization_id=org_id, actor_id=actor_id, target=m.user.email, ip=ip
        )
        await self.db.flush()
        return password

    async def set_password(self, email: str, password: str) -> None:
        """Operator reset from the CLI."""
        user = await self.users.by_email(email)
        if user is None:
            raise NotFound(f"No user with e-mail {email}.")
        if problem := password_problem(password, email=user.email):
            raise ValidationFailed(problem)
        user.password_hash = hash_password(password)
        user.password_changed_at = utcnow()
        await self._end_sessions(user.id)
        await self.db.flush()

    async def change_own_password(
        self,
        user_id: uuid.UUID,
        current: str,
        new: str,
        *,
        keep_session: str | None,
        org_id: uuid.UUID | None,
        ip: str = "",
    ) -> None:
        user = await self.users.get(user_id)
        if user is None or not verify_password(user.password_hash, current):
            raise ValidationFailed("The current password is not correct.")
        if problem := password_problem(new, email=user.email):
            raise ValidationFailed(problem)
        user.password_hash = hash_password(new)
        user.password_changed_at = utcnow()
        if self.sessions is not None:
            await self.sessions.delete_for_user(user_id, except_id=keep_session)
        self.audit.record(
            "user.password_changed", organization_id=org_id, actor_id=user_id, target=user.email, ip=ip
        )
        await self.db.flush()

    async def _keep_an_admin(self, org_id: uuid.UUID, m: Membership) -> None:
        if m.is_active and await self.members.count_active_admins(org_id) <= 1:
            raise Conflict("An organization needs at least one active admin.")

    async def _end_sessions(self, user_id: uuid.UUID) -> None:
        if self.sessions is not None:
            await self.sessions.delete_for_user(user_id)


class LoginService:
    """Password login with throttling, and the server-side sessions behind the admin cookie."""

    def __init__(
        self, db: AsyncSession, settings: Settings, limiter: RateLimiter, sessions: SessionStore
    ) -> None:
        self.db = db
        self.settings = settings
        self.limiter = limiter
        self.sessions = sessions
        self.users = UserRepository(db)
        self.members = MembershipRepository(db)
        self.audit = AuditService(db)
        self.limit = f"{settings.login_max_failures} per {settings.login_window_minutes} minutes"

    async def login(
        self, email: str, password: str, *, ip: str, user_agent: str = ""
    ) -> tuple[str, SessionData]:
        """Returns the cookie token and the new session; raises on bad credentials or throttling."""
        email = email.strip().lower()
        keys = (f"login:email:{email}", f"login:ip:{ip}")
        wait = max([await self.limiter.blocked_for(self.limit, k) for k in keys])
        if wait:
            self.audit.record("login.throttled", target=email, ip=ip)
            raise TooManyRequests("Too many failed logins. Wait before trying again.", retry_after=wait)
        user = await self.users.by_email(email)
        memberships = await self.members.for_user(user.id) if user else []
        if (
            user is None
            or not verify_password(user.password_hash, password)
            or not user.is_active
            # Instance operators may have no organization of their own: they log in to the operator console.
            or not (memberships or user.is_operator)
        ):
            for k in keys:
                await self.limiter.hit(self.limit, k)
            self.audit.record(
                "login.failed",
                target=email,
                ip=ip,
                organization_id=memberships[0].organization_id if memberships else None,
            )
            raise Unauthorized("E-mail or password is not correct.")
        if user.email_verified_at is None:
            # The password was right, so saying why does not help a guesser.
            raise Unauthorized(
                "Please confirm your e-mail address first: open the link we sent you.",
                code="email_unverified",
            )
        now = utcnow()
        user.last_login_at = now
        org_id = memberships[0].organization_id if memberships else None
        token = new_token()
        data = SessionData(
            id=hash_token(token),
            user_id=user.id,
            organization_id=org_id,
            csrf_token=new_token(),
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=self.settings.session_max_hours),
            ip=ip[:64],
            user_agent=user_agent[:300],
        )
        await self.sessions.save(data)
        self.audit.record("login.succeeded", organization_id=org_id, actor_id=user.id, target=email, ip=ip)
        await self.db.flush()
        return token, data

    async def resolve(self, token: str) -> SessionData | None:
        """The live session for a cookie token; expired ones (idle or absolute) are ended here."""
        data = await self.sessions.get(hash_token(token))
        if data is None:
            return None
        now = utcnow()
        idle = timedelta(minutes=self.settings.session_idle_minutes)
        if now >= data.expires_at or now - data.last_seen_at >= idle:
            await self.sessions.delete(data.id)
            return None
        if now - data.last_seen_at >= timedelta(seconds=30):
            data = SessionData(**{**data.__dict__, "last_seen_at": now})
            await self.sessions.save(data)
        return data

    async def switch_organization(self, data: SessionData, org_id: uuid.UUID) -> SessionData:
        m = await self.members.get_for_user(org_id, data.user_id)
        if m is None or not m.is_active:
            raise NotFound("Organization not found.")
        new = SessionData(**{**data.__dict__, "organization_id": org_id})
        await self.sessions.save(new)
        return new

    async def logout(self, data: SessionData, *, ip: str) -> None:
        await self.sessions.delete(data.id)
        self.audit.record("logout", organization_id=data.organization_id, actor_id=data.user_id, ip=ip)
        await self.db.flush()


class ApiKeyService:
    def __init__(self, db: AsyncSession, cache: ApiKeyCache | None = None) -> None:
        """With ``cache`` (the runtime's), keys are looked up once per few seconds and revoking forgets."""
        self.db = db
        self.repo = ApiKeyRepository(db)
        self.audit = AuditService(db)
        self.cache = cache

    async def list(self, org_id: uuid.UUID) -> Sequence[ApiKey]:
        return await self.repo.list(org_id)

    async def get(self, org_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey:
        key = await self.repo.get(org_id, key_id)
        if key is None:
            raise NotFound("API key not found.")
        return key

    async def create(
        self,
        org_id: uuid.UUID,
        *,
        kind: ApiKeyKind,
        name: str = "",
        scopes: Sequence[str] | None = None,
        allowed_origins: Sequence[str] = (),
        actor_id: uuid.UUID | None = None,
        ip: str = "",
    ) -> tuple[ApiKey, str]:
        """Returns the row and the full key, which is never stored or shown again."""
        if kind == ApiKeyKind.public:
            if scopes and set(scopes) - {Scope.chat}:
                raise ValidationFailed("Public keys can only use the chat scope.")
            if not allowed_origins:
                raise ValidationFailed("A public key needs at least one allowed origin.")
            scopes = [Scope.chat]
        else:
            scopes = sorted(set(scopes)) if scopes else sorted(Scope)
            if allowed_origins:
                raise ValidationFailed("Allowed origins apply to public keys only.")
        token = KEY_PREFIXES[kind] + new_token(24)
        key = self.repo.add(
            ApiKey(
                organization_id=org_id,
                name=name.strip() or f"{kind} key",
                kind=kind,
                prefix=token[:12],
                key_hash=hash_token(token),
                scopes=[str(s) for s in scopes],
                allowed_origins=list(allowed_origins),
                created_by_id=actor_id,
            )
        )
        await self.db.flush()
        self.audit.record(
            "api_key.created",
            organization_id=org_id,
            actor_id=actor_id,
            target=key.prefix,
            ip=ip,
            details={"kind": str(kind), "name": key.name},
        )
        return key, token

    async def revoke(
        self, org_id: uuid.UUID, key_id: uuid.UUID, *, actor_id: uuid.UUID | None, ip: str = ""
    ) -> ApiKey:
        key = await self.get(org_id, key_id)
        if key.revoked_at is None:
            key.revoked_at = utcnow()
            self.audit.record(
                "api_key.revoked", organization_id=org_id, actor_id=actor_id, target=key.prefix, ip=ip
            )
            await self.db.flush()
        if self.cache is not None:
            self.cache.forget_on_commit(self.db, key_id=key.id)
        return key

    async def authenticate(
        self,
        token: str,
        *,
        origin: str | None,
        check: Callable[[Principal], Awaitable[None]] | None = None,
    ) -> Principal:
        """The key's principal; ``check`` (e.g. the plan includes API access) raises to refuse it. With a
        cache, a key verified in the last few seconds (keycache.py) is answered without a query."""
        key_hash = hash_token(token)
        cached = self.cache.get(key_hash) if self.cache is not None else None
        if cached is not None:
            principal = cached.principal
            if principal.kind == ApiKeyKind.public and not origin_allowed(origin, cached.allowed_origins):
                raise Forbidden("This key may not be used from this origin.", code="origin_not_allowed")
            if check is not None and not cached.checked:
                await check(principal)
                cached.checked = True
            now = utcnow()
            if principal.api_key_id is not None and (
                cached.last_used_at is None or now - cached.last_used_at >= LAST_USED_RESOLUTION
            ):
                await self.repo.touch(principal.organization_id, principal.api_key_id, now)
                cached.last_used_at = now
            return principal
        key = await self.repo.by_hash(key_hash)
        if key is None or key.revoked_at is not None:
            raise Unauthorized("Invalid or revoked API key.")
        if key.kind == ApiKeyKind.public and not origin_allowed(origin, key.allowed_origins):
            raise Forbidden("This key may not be used from this origin.", code="origin_not_allowed")
        # After the origin check: only a suspended organization's own sites may read this plain 403 (CORS).
        await ensure_not_suspended(self.db, key.organization_id)
        principal = Principal(
            organization_id=key.organization_id,
            kind=key.kind,
            scopes=frozenset(key.scopes),
            api_key_id=key.id,
        )
        if check is not None:
            await check(principal)
        now = utcnow()
        if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
            key.last_used_at = now
            await self.db.flush()
        if self.cache is not None:
            self.cache.put(
                key_hash,
                principal,
                allowed_origins=key.allowed_origins,
                last_used_at=key.last_used_at,
                checked=check is not None,
            )
        return principal

    @staticmethod
    def principal_for_member(m: Membership) -> Principal:
        return Principal(
            organization_id=m.organization_id, kind="user", scopes=ROLE_SCOPES[m.role], user_id=m.user_id
        )
