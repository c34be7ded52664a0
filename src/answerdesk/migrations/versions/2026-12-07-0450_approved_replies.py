"""Approved ticket replies, remembered (personal data stripped) as examples for new drafts

Revision ID: 9b2d1f8a0450
Revises: 8a1c0e7e0008
Create Date: 2026-12-07 04:50:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9b2d1f8a0450"
down_revision: str | None = "8a1c0e7e0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "approved_reply",
        sa.Column("ticket_id", sa.Uuid(), nullable=True),
        sa.Column("draft_id", sa.Uuid(), nullable=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("edited", sa.Boolean(), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=True),
        sa.Column("embedding", sa.LargeBinary(), nullable=False),
        sa.Column("faq_document_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["draft_id"],
            ["ticket_draft.id"],
            name=op.f("fk_approved_reply_draft_id_ticket_draft"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_approved_reply_organization_id_organization"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_approved_reply_ticket_id_ticket"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approved_reply")),
        sa.UniqueConstraint("draft_id", name=op.f("uq_approved_reply_draft_id")),
    )
    with op.batch_alter_table("approved_reply", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_approved_reply_organization_id"), ["organization_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("approved_reply", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_approved_reply_organization_id"))
    op.drop_table("approved_reply")
