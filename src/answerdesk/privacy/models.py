"""Full exports of an organization (made by a job, downloadable until they expire); WHMCS tickets erased."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from answerdesk.kit.db import Base, CreatedAtMixin, IdMixin, TenantMixin


class ExportStatus(enum.StrEnum):
    queued = "queued"
    running = "running"
    ready = "ready"
    failed = "failed"


class OrganizationExport(IdMixin, TenantMixin, CreatedAtMixin, Base):
    __tablename__ = "organization_export"

    status: Mapped[str] = mapped_column(sa.String(16), default=ExportStatus.queued)
    requested_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL"), default=None
    )
    storage_key: Mapped[str | None] = mapped_column(sa.String(500), default=None)
    size_bytes: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(sa.Text, default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    # The zip is deleted (object and row) after this; set when it is ready.
    expires_at: Mapped[datetime | None] = mapped_column(default=None, index=True)


class ErasedTicket(IdMixin, TenantMixin, CreatedAtMixin, Base):
    """A WHMCS ticket whose local copy was erased with its customer: the sync does not import it again.

    Only WHMCS's ticket id is kept, nothing about the customer; their new tickets are imported as usual.
    """

    __tablename__ = "erased_ticket"
    __table_args__ = (sa.UniqueConstraint("organization_id", "source", "external_id"),)

    source: Mapped[str] = mapped_column(sa.String(16))
    external_id: Mapped[str] = mapped_column(sa.String(64))
