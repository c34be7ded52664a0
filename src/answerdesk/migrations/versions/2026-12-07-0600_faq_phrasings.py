"""FAQ phrasings: other ways customers ask an FAQ question (staff-written, learned, from knowledge gaps)

Revision ID: b1d4f3c50600
Revises: a0c3e2b40010
Create Date: 2026-12-07 06:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b1d4f3c50600"
down_revision: str | None = "a0c3e2b40010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "faq_phrasing",
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("question_hash", sa.String(length=64), nullable=False),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=True),
        sa.Column("embedding", sa.LargeBinary(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["document.id"],
            name=op.f("fk_faq_phrasing_document_id_document"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["message.id"],
            name=op.f("fk_faq_phrasing_message_id_message"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_faq_phrasing_organization_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_faq_phrasing")),
    )
    with op.batch_alter_table("faq_phrasing", schema=None) as batch_op:
        batch_op.create_index(
            "ix_faq_phrasing_document_question", ["document_id", "question_hash"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_faq_phrasing_message_id"), ["message_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_faq_phrasing_organization_id"), ["organization_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("faq_phrasing", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_faq_phrasing_organization_id"))
        batch_op.drop_index(batch_op.f("ix_faq_phrasing_message_id"))
        batch_op.drop_index("ix_faq_phrasing_document_question")
    op.drop_table("faq_phrasing")
