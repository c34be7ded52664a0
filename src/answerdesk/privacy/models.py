"""Full exports of an organization, made by a background job, downloadable by its admins until they expire."""

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
