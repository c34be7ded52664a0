"""Analytics: per-conversation roll-up rows, and indexes for period queries

Revision ID: a0c3e2b40010
Revises: 9b2d1f8f0009
Create Date: 2026-12-07 05:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a0c3e2b40010"
down_revision: str | None = "9b2d1f8f0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "conversation_stat",
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("message_count", sa.Integer(), nullable=False),
        sa.Column("customer_messages", sa.Integer(), nullable=False),
        sa.Column("staff_messages", sa.Integer(), nullable=False),
        sa.Column("answers_llm", sa.Integer(), nullable=False),
        sa.Column("answers_faq", sa.Integer(), nullable=False),
        sa.Column("answers_extractive", sa.Integer(), nullable=False),
        sa.Column("answers_fallback", sa.Integer(), nullable=False),
        sa.Column("answers_no_answer", sa.Integer(), nullable=False),
        sa.Column("answers_handoff", sa.Integer(), nullable=False),
        sa.Column("sentiment_negative", sa.Integer(), nullable=False),
        sa.Column("sentiment_neutral", sa.Integer(), nullable=False),
        sa.Column("sentiment_positive", sa.Integer(), nullable=False),
        sa.Column("first_customer_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_staff_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversation.id"],
            name=op.f("fk_conversation_stat_conversation_id_conversation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_conversation_stat_organization_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("conversation_id", name=op.f("pk_conversation_stat")),
    )
    with op.batch_alter_table("conversation_stat", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_conversation_stat_organization_id"), ["organization_id"], unique=False
        )
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.create_index("ix_conversation_org_created", ["organization_id", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.drop_index("ix_conversation_org_created")
    with op.batch_alter_table("conversation_stat", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversation_stat_organization_id"))
    op.drop_table("conversation_stat")
