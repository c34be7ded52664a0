"""Sign-up rules: who may sign up (closed, invitation, open), the new organization and its first admin,
e-mail confirmation links, and the operator's invitation codes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import structlog
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import Role, User
from answerdesk.auth.repository import UserRepository
from answerdesk.auth.service import AuditService, MemberService
from answerdesk.billing.service import BillingService
from answerdesk.config import Settings
from answerdesk.integrations.mail.smtp import Mailer, MailError, OutgoingMail
from answerdesk.kit.db import utcnow
from answerdesk.kit.errors import AppError, Conflict, NotFound, TooManyRequests, ValidationFailed
from answerdesk.kit.ratelimit import RateLimiter
from answerdesk.kit.security import hash_token, new_token
from answerdesk.signup.models import SignupInvitation
from answerdesk.signup.repository import InvitationRepository
from answerdesk.signup.schemas import SignupCreate
from answerdesk.tenants.models import Organization
from answerdesk.tenants.service import OrganizationService, slugify

log = structlog.get_logger(__name__)

VERIFY_SALT = "answerdesk.signup.verify-email"
INVITE_PREFIX = "adinv_"
SLUG_ATTEMPTS = 5


class SignupClosed(NotFound):
    code = "signup_closed"


class MailNotSent(AppError):
    status_code = 502
    code = "mail_not_sent"


@dataclass(frozen=True)
class SignupResult:
    organization: Organization
    user: User
    needs_verification: bool


class SignupService:
    def __init__(
        self, db: AsyncSession, settings: Settings, limiter: RateLimiter, secret: str, mailer: Mailer | None
    ) -> None:
        self.db = db
        self.settings = settings
        self.limiter = limiter
        self.mailer = mailer
        self.invitations = InvitationRepository(db)
        self.audit = AuditService(db)
        self.serializer = URLSafeTimedSerializer(secret, salt=VERIFY_SALT)

    @property
    def mode(self) -> str:
        return self.settings.signup

    @property
    def verifies_email(self) -> bool:
        """Without SMTP nobody could receive a link, so accounts are active at once."""
        return self.mailer is not None

    def ensure_open(self) -> None:
        if self.mode == "closed":
            raise SignupClosed("Sign-up is not available on this instance.")

    async def register(self, form: SignupCreate, *, ip: str) -> SignupResult:
        """A new organization with its first admin; with SMTP the admin must confirm the address first."""
        self.ensure_open()
        key = f"signup:ip:{ip}"
        if not await self.limiter.hit(self.settings.signup_limit_per_ip, key):
            raise TooManyRequests(
                "Too many sign-ups from your network. Please try again later.",
                retry_after=await self.limiter.blocked_for(self.settings.signup_limit_per_ip, key),
            )
        email = str(form.email).strip().lower()
        invitation = (
            await self.usable_invitation(form.invite_code, email=email) if self.mode == "invite" else None
        )
        org = await self._new_organization(form.organization_name)
        try:
            await BillingService(self.db, self.settings).set_plan(org, self.settings.signup_plan)
        except NotFound:
            # A sign-up plan naming no plan must not turn customers away: they follow the default plan.
            log.warning("signup.plan_missing", slug=self.settings.signup_plan)
        membership, _ = await MemberService(self.db).create(
            org.id, email, Role.admin, name=form.name, password=form.password, ip=ip
        )
        user = membership.user
        if self.verifies_email:
            user.email_verified_at = None
        if invitation is not None and not await self.invitations.claim(invitation.id, org.id, utcnow()):
            raise Conflict("This invitation code has just been used.", code="invitation_used")
        self.audit.record(
            "signup.completed",
            organization_id=org.id,
            actor_id=user.id,
            target=email,
            ip=ip,
            details={"mode": self.mode, "invitation": invitation.prefix if invitation else None},
        )
        await self.db.flush()
        return SignupResult(org, user, self.verifies_email)

    async def _new_organization(self, name: str) -> Organization:
        orgs = OrganizationService(self.db)
        base = slugify(name) or "org"
        for attempt in range(SLUG_ATTEMPTS):
            slug = base if attempt == 0 else f"{base[:56].rstrip('-')}-{uuid.uuid4().hex[:6]}"
            try:
                return await orgs.create(name, slug)
            except Conflict:
                continue
        raise Conflict("Could not pick a unique address for this organization; try another name.")

    # E-mail confirmation: a signed, expiring link naming the user and address. It works once, because
    # confirming sets email_verified_at and a confirmed address is never confirmed again.
    def verification_token(self, user: User) -> str:
        return self.serializer.dumps({"u": str(user.id), "e": user.email})

    def verification_url(self, user: User) -> str:
        return f"{self.settings.base_url.rstrip('/')}/signup/verify?token={self.verification_token(user)}"

    async def send_verification(self, user: User) -> None:
        if self.mailer is None:
            return
        mail = OutgoingMail(
            to_address=user.email,
            to_name=user.name,
            subject="Confirm your e-mail address for Answerdesk",
            body=(
                f"Hello{' ' + user.name if user.name else ''},\n\n"
                "Please confirm your e-mail address to finish creating your Answerdesk account:\n\n"
                f"{self.verification_url(user)}\n\n"
                f"The link works once, for {self.settings.signup_verify_hours} hours. "
                "If you did not sign up, ignore this message.\n"
            ),
        )
        try:
            await self.mailer.send(mail)
        except MailError as exc:
            raise MailNotSent(
                f"We could not send the confirmation e-mail ({exc.message}). Please try again later."
            ) from exc

    async def resend_verification(self, email: str, *, ip: str) -> None:
        """A new link for an unconfirmed account. Says nothing about whether one exists (the caller shows
        the same message either way), and is limited per IP and per address so it cannot flood a mailbox."""
        email = email.strip().lower()
        spec = self.settings.signup_limit_per_ip
        for key in (f"signup:resend:ip:{ip}", f"signup:resend:email:{email}"):
            if not await self.limiter.hit(spec, key):
                raise TooManyRequests(
                    "Too many requests for a new link. Please try again later.",
                    retry_after=await self.limiter.blocked_for(spec, key),
                )
        user = await UserRepository(self.db).by_email(email)
        if user is None or user.email_verified_at is not None or self.mailer is None:
            return
        try:
            await self.send_verification(user)
        except MailNotSent as exc:
            log.warning("signup.resend_failed", error=exc.message)
        else:
            self.audit.record("signup.link_resent", actor_id=user.id, target=user.email, ip=ip)
            await self.db.flush()

    async def user_for_token(self, token: str) -> User:
        try:
            data = self.serializer.loads(token, max_age=self.settings.signup_verify_hours * 3600)
        except SignatureExpired:
            raise ValidationFailed(
                "This confirmation link has expired. Sign up again or ask for a new link.",
                code="link_expired",
            ) from None
        except BadSignature:
            raise ValidationFailed("This confirmation link is not valid.", code="link_invalid") from None
        user = None
        if isinstance(data, dict):
            try:
                user = await self.db.get(User, uuid.UUID(str(data.get("u"))))
            except ValueError:
                user = None
        if user is None or user.email != data.get("e"):
            raise ValidationFailed("This confirmation link is not valid.", code="link_invalid")
        return user

    async def verify(self, token: str, *, ip: str) -> tuple[User, bool]:
        """Confirms the address; returns the user and whether this call confirmed it (False: done before)."""
        user = await self.user_for_token(token)
        if user.email_verified_at is not None:
            return user, False
        user.email_verified_at = utcnow()
        self.audit.record("signup.email_verified", actor_id=user.id, target=user.email, ip=ip)
        await self.db.flush()
        return user, True

    # Invitation codes ("invite" mode): random, stored hashed, one organization each, expiring.
    async def usable_invitation(self, code: str | None, *, email: str | None = None) -> SignupInvitation:
        code = (code or "").strip()
        if not code:
            raise ValidationFailed(
                "Sign-up is by invitation: enter your invitation code.", code="invitation_required"
            )
        invitation = await self.invitations.by_hash(hash_token(code))
        now = utcnow()
        if invitation is None or invitation.revoked_at is not None or invitation.expires_at <= now:
            raise ValidationFailed(
                "This invitation code is not valid or has expired.", code="invitation_invalid"
            )
        if invitation.used_at is not None:
            raise ValidationFailed("This invitation code has already been used.", code="invitation_used")
        if email is not None and invitation.email and invitation.email != email:
            raise ValidationFailed(
                "This invitation is for another e-mail address.", code="invitation_other_email"
            )
        return invitation

    async def create_invitation(
        self,
        *,
        actor_id: uuid.UUID | None,
        note: str = "",
        email: str | None = None,
        days: int | None = None,
        ip: str = "",
    ) -> tuple[SignupInvitation, str]:
        """Returns the row and the code, which is shown once and never stored."""
        code = INVITE_PREFIX + new_token(18)
        email = (email or "").strip().lower() or None
        invitation = self.invitations.add(
            SignupInvitation(
                code_hash=hash_token(code),
                prefix=code[:12],
                note=note.strip()[:200],
                email=email,
                created_by_id=actor_id,
                expires_at=utcnow() + timedelta(days=days or self.settings.signup_invite_days),
            )
        )
        await self.db.flush()
        self.audit.record(
            "operator.invitation_created",
            actor_id=actor_id,
            target=invitation.prefix,
            ip=ip,
            details={"note": invitation.note, "email": email},
        )
        return invitation, code

    def invitation_url(self, code: str) -> str:
        return f"{self.settings.base_url.rstrip('/')}/signup?invite={code}"

    async def list_invitations(self) -> Sequence[SignupInvitation]:
        return await self.invitations.list()

    async def revoke_invitation(
        self, invitation_id: uuid.UUID, *, actor_id: uuid.UUID | None, ip: str = ""
    ) -> None:
        invitation = await self.invitations.get(invitation_id)
        if invitation is None:
            raise NotFound("Invitation not found.")
        if invitation.revoked_at is None and invitation.used_at is None:
            invitation.revoked_at = utcnow()
            self.audit.record(
                "operator.invitation_revoked", actor_id=actor_id, target=invitation.prefix, ip=ip
            )
            await self.db.flush()
