"""answer feedback per bot message; customer questions' query vectors; FAQ entries written for gap questions

Revision ID: 9b2d1f8f0009
Revises: 8a1c0e7e0008
Create Date: 2026-12-07 04:40:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9b2d1f8f0009"
down_revision: str | None = "8a1c0e7e0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("query_embedding", sa.LargeBinary(), nullable=True))

    op.create_table(
        "message_feedback",
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversation.id"],
            name=op.f("fk_message_feedback_conversation_id_conversation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["message.id"],
            name=op.f("fk_message_feedback_message_id_message"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_message_feedback_organization_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_feedback")),
        sa.UniqueConstraint("message_id", name=op.f("uq_message_feedback_message_id")),
    )
    with op.batch_alter_table("message_feedback", schema=None) as batch_op:
        batch_op.create_index(
            "ix_message_feedback_org_created", ["organization_id", "created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_message_feedback_conversation_id"), ["conversation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_message_feedback_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "gap_resolution",
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("created_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["message.id"],
            name=op.f("fk_gap_resolution_message_id_message"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["document.id"],
            name=op.f("fk_gap_resolution_document_id_document"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["user.id"],
            name=op.f("fk_gap_resolution_created_by_user_id_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_gap_resolution_organization_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gap_resolution")),
        sa.UniqueConstraint("message_id", name=op.f("uq_gap_resolution_message_id")),
    )
    with op.batch_alter_table("gap_resolution", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gap_resolution_document_id"), ["document_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_gap_resolution_organization_id"), ["organization_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("gap_resolution", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gap_resolution_organization_id"))
        batch_op.drop_index(batch_op.f("ix_gap_resolution_document_id"))
    op.drop_table("gap_resolution")
    with op.batch_alter_table("message_feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_message_feedback_organization_id"))
        batch_op.drop_index(batch_op.f("ix_message_feedback_conversation_id"))
        batch_op.drop_index("ix_message_feedback_org_created")
    op.drop_table("message_feedback")
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_column("query_embedding")
