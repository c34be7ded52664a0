"""Invitation codes an operator hands out when sign-up is by invitation only."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from answerdesk.kit.db import Base, CreatedAtMixin, IdMixin


class SignupInvitation(IdMixin, CreatedAtMixin, Base):
    """One code, one organization: only the code's hash is stored, as for API keys."""

    __tablename__ = "signup_invitation"

    code_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(16))
    note: Mapped[str] = mapped_column(sa.String(200), default="")
    # When set, only this address may use the code.
    email: Mapped[str | None] = mapped_column(sa.String(320), default=None)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL"), default=None
    )
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column(default=None)
    used_by_organization_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("organization.id", ondelete="SET NULL"), default=None
    )
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
