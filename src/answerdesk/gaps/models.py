"""Which gap questions an FAQ entry now answers: a group whose questions are linked is "answered"."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from answerdesk.kit.db import Base, CreatedAtMixin, IdMixin, TenantMixin


class GapResolution(IdMixin, TenantMixin, CreatedAtMixin, Base):
    """Links a customer question to the FAQ entry written for its group.

    Groups are recomputed on every report (clustering is cheap), so the link is kept per question, not per
    group: a group is answered when its questions are linked, whatever the clustering makes of it next time.
    Deleting the FAQ deletes the links, and the group is open again."""

    __tablename__ = "gap_resolution"

    message_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("message.id", ondelete="CASCADE"), unique=True
    )
    document_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("document.id", ondelete="CASCADE"), index=True
    )
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL"), default=None
    )
