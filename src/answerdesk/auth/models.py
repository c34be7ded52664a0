"""Users, memberships (roles per organization), API keys, login sessions, audit log."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from answerdesk.kit.db import Base, CreatedAtMixin, IdMixin, TenantMixin, utcnow
from answerdesk.tenants.models import Organization


class Role(enum.StrEnum):
    admin = "admin"
    staff = "staff"


class ApiKeyKind(enum.StrEnum):
    secret = "secret"  # noqa: S105 - a kind of key, not a password
    public = "public"


class Scope(enum.StrEnum):
    """What a secret key may call; public keys only ever get ``chat``."""

    admin = "admin"
    knowledge = "knowledge"
    chat = "chat"
    tickets = "tickets"


class User(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "user"

    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(default=None)
    password_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Empty only while a self-service sign-up waits for its e-mail link; login is refused until then.
    email_verified_at: Mapped[datetime | None] = mapped_column(default=utcnow)
    # Instance operator (SaaS): sees the operator console across organizations; not an org role.
    is_operator: Mapped[bool] = mapped_column(default=False, server_default=sa.false())


class Membership(IdMixin, TenantMixin, CreatedAtMixin, Base):
    __tablename__ = "membership"
    __table_args__ = (sa.UniqueConstraint("organization_id", "user_id"),)

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(sa.String(16))
    is_active: Mapped[bool] = mapped_column(default=True)

    user: Mapped[User] = relationship(lazy="joined")
    organization: Mapped[Organization] = relationship(lazy="joined")


class ApiKey(IdMixin, TenantMixin, CreatedAtMixin, Base):
    __tablename__ = "api_key"

    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(16))
    prefix: Mapped[str] = mapped_column(sa.String(32))
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(default=list)
    allowed_origins: Mapped[list[str]] = mapped_column(default=list)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL"), default=None
    )
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class AuthSession(CreatedAtMixin, Base):
    """A server-side admin login; the cookie holds a token whose hash is the key."""

    __tablename__ = "auth_session"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("organization.id", ondelete="SET NULL"), default=None
    )
    csrf_token: Mapped[str] = mapped_column(sa.String(64))
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    ip: Mapped[str] = mapped_column(sa.String(64), default="")
    user_agent: Mapped[str] = mapped_column(sa.String(300), default="")


class AuditLog(IdMixin, CreatedAtMixin, Base):
    """Security-relevant actions. Organization is empty where none applies (a failed login)."""

    __tablename__ = "audit_log"

    organization_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("organization.id", ondelete="CASCADE"), index=True, default=None
    )
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL"), default=None
    )
    action: Mapped[str] = mapped_column(sa.String(64), index=True)
    target: Mapped[str] = mapped_column(sa.String(320), default="")
    ip: Mapped[str] = mapped_column(sa.String(64), default="")
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
